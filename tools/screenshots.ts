/**
 * `npm run screenshots`: PNG images of the real live screen, taken from real runs of the demo
 * batch (examples/demo.yaml on two simulated GPUs). The TUI (dist/src/cli/main.js: run
 * `npm run build` first) runs in a tmux pane; keys go in with send-keys, every wait polls the
 * pane for what it expects, `capture-pane -e` takes the screen with its colours,
 * tools/ansi-to-html.ts turns it into a page and Debian's headless chromium photographs it.
 *
 * Scenes, in screenshots/:
 *   01-overview.png                  GPUs, the launched job and its GPU holders, live
 *   02-stopped-tree-diagnosis.png    details pane on the loader worker that stopped itself (T)
 *   03-kill-confirmation.png         K on the tagged leftovers: what will be hit
 *   04-after-crash-leftovers.png     launcher killed (SIGKILL): leftovers only, every one tagged
 *   05-80x24.png                     the live overview in an 80x24 terminal
 *   06-help.png                      the keys (?)
 *
 * The crash: the TUI runs with REAPER_CONTAINMENT=pgroup-only so the run it launches has no
 * cgroup, PID namespace, pdeathsig or guardian; once the demo's stop-worker task has a stopped
 * (T) process, the script SIGKILLs the run's launcher (and guardian, if one is recorded), both
 * identity-checked against the journal. What stays behind is what an operator finds after a
 * crashed driver: the leftovers. The script kills them with the TUI itself (K, y) and then
 * reaps whatever is left of its runs and ends its tmux server, even when a step fails.
 *
 * As root it runs the TUI and the demo as an unprivileged user (gpudemo, created when absent,
 * no login) so the screen shows only the demo's processes, not everything else on the machine.
 * Environment: SCREENSHOTS_OUT (folder, default screenshots/), CHROMIUM (default
 * /usr/bin/chromium), SCREENSHOTS_KEEP=1 keeps the temporary folder (HTML and text captures).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ansiToHtmlPage } from './ansi-to-html.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BATCH = path.join(ROOT, 'examples', 'demo.yaml');
const OUT = path.resolve(process.env.SCREENSHOTS_OUT ?? path.join(ROOT, 'screenshots'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DEMO_USER = 'gpudemo';
const BIG = { cols: 132, rows: 40 };
const SMALL = { cols: 80, rows: 24 };
const RUN_ID_RE = /\b(\d{8}-\d{6}-[0-9a-f]{4})\b/;

// Cell size of 14px DejaVu Sans Mono at line-height 1.25 (ansi-to-html.ts), and its padding.
const CELL_W = 8.43;
const CELL_H = 17.5;
const PAD_X = 12;
const PAD_Y = 10;
const SCALE = 2;

interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

interface Ctx {
  readonly tmp: string;
  readonly state: string;
  readonly user: User | null;
  readonly socket: string;
  readonly env: Record<string, string>;
  tmuxStarted: boolean;
  size: { cols: number; rows: number };
  captures: Capture[];
}

function log(msg: string): void {
  process.stderr.write(`screenshots: ${msg}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- setup

function ensureUser(): User | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number | null => {
    const r = spawnSync('id', [flag, DEMO_USER], { encoding: 'utf8' });
    return r.status === 0 ? Number(r.stdout.trim()) : null;
  };
  if (id('-u') === null) {
    log(`creating the unprivileged user ${DEMO_USER} (no home, no login) to run the demo as`);
    const r = spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', DEMO_USER], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`useradd ${DEMO_USER} failed: ${r.stderr.trim()}`);
  }
  const uid = id('-u');
  const gid = id('-g');
  if (uid === null || gid === null) throw new Error(`cannot find user ${DEMO_USER}`);
  return { name: DEMO_USER, uid, gid };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=+@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function setup(): Ctx {
  for (const [what, p] of [
    ['the build (run "npm run build" first)', CLI],
    ['chromium (apt-get install chromium, or set CHROMIUM)', CHROMIUM],
    ['the demo batch', BATCH],
  ] as const) {
    if (!existsSync(p)) throw new Error(`missing ${what}: ${p}`);
  }
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux is not installed (apt-get install tmux)');
  const user = ensureUser();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-shots-'));
  chmodSync(tmp, 0o755);
  const state = path.join(tmp, 'state');
  const home = path.join(tmp, 'home');
  for (const d of [state, home]) {
    mkdirSync(d);
    if (user) chownSync(d, user.uid, user.gid);
  }
  // As the demo user, root's PATH (pyenv shims under /root) is unreadable: use the system one.
  const nodeDir = path.dirname(process.execPath);
  const basePath = user ? '/usr/local/bin:/usr/bin:/bin' : (process.env.PATH ?? '/usr/bin:/bin');
  const env: Record<string, string> = {
    PATH: basePath.split(':').includes(nodeDir) ? basePath : `${nodeDir}:${basePath}`,
    HOME: home,
    XDG_STATE_HOME: state,
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
    // No cgroup, PID namespace, pdeathsig or guardian for the run L launches: a SIGKILLed
    // launcher then leaves its tasks behind, which is the scene to photograph.
    REAPER_CONTAINMENT: 'pgroup-only',
  };
  return { tmp, state, user, socket: `reaper-shots-${process.pid}-${randomBytes(3).toString('hex')}`, env, tmuxStarted: false, size: BIG, captures: [] };
}

// ---------------------------------------------------------------- tmux

function tmux(ctx: Ctx, ...args: string[]): string {
  return execFileSync('tmux', ['-L', ctx.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function startTui(ctx: Ctx): void {
  const envArgs = Object.entries(ctx.env).map(([k, v]) => `${k}=${v}`);
  const asUser = ctx.user ? ['setpriv', `--reuid=${ctx.user.uid}`, `--regid=${ctx.user.gid}`, '--clear-groups'] : [];
  const argv = [...asUser, 'env', '-i', ...envArgs, process.execPath, CLI, '--gpus', 'sim:2', '--batch', BATCH];
  const cmd = argv.map(shellQuote).join(' ');
  execFileSync('tmux', ['-L', ctx.socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'main', '-x', String(BIG.cols), '-y', String(BIG.rows), cmd], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  ctx.tmuxStarted = true;
  // Keep the pane if the TUI exits, so a failure can still be captured.
  tmux(ctx, 'set-option', '-g', 'remain-on-exit', 'on');
}

function keys(ctx: Ctx, ...k: string[]): void {
  tmux(ctx, 'send-keys', '-t', 'main', ...k);
}

function captureAnsi(ctx: Ctx): string {
  return tmux(ctx, 'capture-pane', '-p', '-e', '-t', 'main');
}

 
const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;:?]*[A-Za-z]/g, '');

/** Polls the pane until `pred` holds on one capture; returns that capture (with colours). */
async function waitScreen(ctx: Ctx, what: string, pred: (text: string, lines: string[]) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = captureAnsi(ctx);
    const text = stripAnsi(last);
    if (pred(text, text.replace(/\n$/, '').split('\n'))) return last;
    if (Date.now() > deadline) {
      writeFileSync(path.join(ctx.tmp, 'last-screen.txt'), text);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${text}`);
    }
    await sleep(100);
  }
}

/** The same condition on two captures 300 ms apart: the frame after a resize has settled. */
async function waitSettled(ctx: Ctx, what: string, pred: (text: string, lines: string[]) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitScreen(ctx, what, pred, Math.max(1000, deadline - Date.now()));
    await sleep(300);
    const again = captureAnsi(ctx);
    const text = stripAnsi(again);
    if (pred(text, text.replace(/\n$/, '').split('\n'))) return again;
  }
}

async function resize(ctx: Ctx, size: { cols: number; rows: number }): Promise<void> {
  tmux(ctx, 'resize-window', '-t', 'main', '-x', String(size.cols), '-y', String(size.rows));
  ctx.size = size;
  // Redrawn for the new size: the header on top, the key hints (or a message) on the last line
  // the screen draws, one above the terminal's last row (a frame as tall as the terminal makes
  // Ink clear the screen on every frame).
  await waitSettled(ctx, `the ${size.cols}x${size.rows} frame`, (_t, lines) => lines.length === size.rows && /^reaper /.test(lines[0] ?? '') && (lines[size.rows - 2] ?? '').trim() !== '');
}

// ---------------------------------------------------------------- photographs

interface Capture {
  readonly name: string;
  readonly title: string;
  readonly ansi: string;
  readonly cols: number;
  readonly rows: number;
}

/** Keeps the screen as it is now; the photographs are taken at the end (chromium is slow, the run is not). */
function keep(ctx: Ctx, name: string, ansi: string, title: string): void {
  ctx.captures.push({ name, title, ansi, ...ctx.size });
  log(`captured ${name} (${ctx.size.cols}x${ctx.size.rows})`);
}

function photograph(ctx: Ctx, c: Capture): string {
  const { cols, rows } = c;
  // capture-pane prints one line per row; keep exactly `rows` of them.
  const lines = c.ansi.replace(/\n$/, '').split('\n');
  while (lines.length < rows) lines.push('');
  const text = lines.slice(0, rows).join('\n');
  const base = c.name.replace(/\.png$/, '');
  const html = path.join(ctx.tmp, `${base}.html`);
  writeFileSync(html, ansiToHtmlPage(text, { cols, rows, title: c.title }));
  writeFileSync(path.join(ctx.tmp, `${base}.txt`), stripAnsi(text) + '\n');
  const width = Math.ceil(cols * CELL_W + 2 * PAD_X);
  const height = Math.ceil(rows * CELL_H + 2 * PAD_Y);
  const profile = mkdtempSync(path.join(ctx.tmp, 'chromium-'));
  const png = path.join(OUT, c.name);
  rmSync(png, { force: true });
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--hide-scrollbars',
      `--force-device-scale-factor=${SCALE}`,
      `--window-size=${width},${height}`,
      `--screenshot=${png}`,
      pathToFileURL(html).href,
    ],
    { encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL' },
  );
  if (!existsSync(png)) throw new Error(`chromium made no ${png} (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-1500)}`);
  log(`wrote ${path.relative(ROOT, png)} (${cols}x${rows}: ${c.title})`);
  return png;
}

// ---------------------------------------------------------------- the run, from /proc and its journal

interface JournalStart {
  run: string;
  launcher?: { pid: number; startTime: number } | null;
  guardian?: { pid: number; startTime: number } | null;
}

function runIds(ctx: Ctx): string[] {
  try {
    return readdirSync(path.join(ctx.state, 'reaper', 'runs')).filter((n) => RUN_ID_RE.test(n));
  } catch {
    return [];
  }
}

function journalStart(ctx: Ctx, runId: string): JournalStart | null {
  try {
    const first = readFileSync(path.join(ctx.state, 'reaper', 'runs', runId, 'journal.jsonl'), 'utf8').split('\n')[0];
    const ev = JSON.parse(first ?? '') as JournalStart & { ev: string };
    return ev.ev === 'run-start' ? ev : null;
  } catch {
    return null;
  }
}

function procStat(pid: number): { state: string; startTime: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', startTime: Number(rest[19]) };
  } catch {
    return null;
  }
}

/** Pids whose environment carries REAPER_RUN=<runId> (zombies have none). */
function markerPids(runId: string): number[] {
  const needle = Buffer.from(`REAPER_RUN=${runId}\0`);
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (Buffer.concat([readFileSync(`/proc/${name}/environ`), Buffer.from([0])]).includes(needle)) out.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** A stopped (T) process of the run, looking only at the demo user's processes (cheap enough to poll). */
function stoppedMember(runId: string, uid: number): number | null {
  const needle = Buffer.from(`REAPER_RUN=${runId}\0`);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid !== uid) continue;
      if (procStat(Number(name))?.state !== 'T') continue;
      if (Buffer.concat([readFileSync(`/proc/${name}/environ`), Buffer.from([0])]).includes(needle)) return Number(name);
    } catch {
      /* gone */
    }
  }
  return null;
}

/**
 * Crashes the run as soon as its stop-worker task has a stopped process (the launcher fails
 * that task 3 s later, so this watcher runs beside the scenes, not after them): SIGKILL the
 * launcher and the guardian recorded in the journal. Resolves with the stopped pid.
 */
async function crashWhenStopped(ctx: Ctx, runId: string, timeoutMs: number): Promise<number> {
  const uid = ctx.user?.uid ?? process.getuid?.() ?? 0;
  const stopped = await waitFor('a stopped (T) process of the run', () => stoppedMember(runId, uid), timeoutMs, 50);
  const start = journalStart(ctx, runId);
  if (!start) throw new Error(`no run-start record in the journal of ${runId}`);
  killIdentity('launcher', start.launcher);
  killIdentity('guardian', start.guardian);
  log(`pid ${stopped} of run ${runId} is stopped (T); the run is crashed`);
  return stopped;
}

/** SIGKILL a process only if it is still the one the journal recorded. */
function killIdentity(who: string, id: { pid: number; startTime: number } | null | undefined): void {
  if (!id) return;
  const st = procStat(id.pid);
  if (!st || st.startTime !== id.startTime) {
    log(`${who} ${id.pid} already gone`);
    return;
  }
  process.kill(id.pid, 'SIGKILL');
  log(`SIGKILLed the ${who} (pid ${id.pid})`);
}

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------- scenes

const holders = (text: string, gpu: number): number => {
  const m = new RegExp(`-- GPU ${gpu} .*: (\\d+) holders?`).exec(text);
  return m ? Number(m[1]) : 0;
};

async function scenes(ctx: Ctx): Promise<void> {
  startTui(ctx);
  await waitSettled(ctx, 'the first frame with both simulated GPUs', (t) => /^ 0 Simulated GPU/m.test(t) && /^ 1 Simulated GPU/m.test(t) && /L launches/.test(t));

  // The keys.
  keys(ctx, '?');
  keep(ctx, '06-help.png', await waitSettled(ctx, 'the help screen', (t) => /reaper keys/.test(t) && /kill the tree/.test(t)), 'reaper: the keys (?)');
  keys(ctx, 'Escape');
  await waitScreen(ctx, 'the help screen to close', (t) => !/reaper keys/.test(t) && /L launches/.test(t));

  // Launch the demo batch from the screen: L, then y.
  keys(ctx, 'L');
  await waitScreen(ctx, 'the launch confirmation', (t) => /as a detached run\?/.test(t));
  keys(ctx, 'y');
  const withJob = await waitScreen(ctx, 'the launched job in the jobs panel', (t) => /^Job \d{8}-\d{6}-[0-9a-f]{4}/m.test(t), 60_000);
  const runId = RUN_ID_RE.exec(stripAnsi(withJob).match(/^Job .*/m)![0])![1]!;
  log(`launched run ${runId}`);
  const crashed = crashWhenStopped(ctx, runId, 120_000);
  crashed.catch(() => undefined); // awaited below; a failure there is reported there
  // Esc clears the "launched run" message, so the key hints show again.
  keys(ctx, 'Escape');
  await waitScreen(ctx, 'the key hints', (_t, lines) => /q quit/.test(lines[ctx.size.rows - 2] ?? ''));

  // 01: the overview, once both GPUs show the tasks holding them.
  const overview = await waitScreen(
    ctx,
    'GPU holders on both GPUs',
    (t) => holders(t, 0) > 0 && holders(t, 1) > 0 && /\brunning\b/.test(t) && /sample_diffusion|evaluate_pt/.test(t),
    60_000,
  );
  keep(ctx, '01-overview.png', overview, 'reaper: the demo batch running on two simulated GPUs');

  // 05: the same live screen in 80x24.
  await resize(ctx, SMALL);
  keep(ctx, '05-80x24.png', await waitSettled(ctx, 'the 80x24 overview', (t, lines) => lines.length === SMALL.rows && /^Job /m.test(t) && /holders?/.test(t)), 'reaper in an 80x24 terminal');
  await resize(ctx, BIG);

  const stopped = await crashed;
  // The screen notices: the stopped worker is still there, now a leftover of a dead run, listed
  // under GPU 0 once the simulated nvidia-smi has reported it (rows move between groups until then).
  const underGpu0 = (t: string): boolean => {
    const section = t.split(/^(?=-- )/m).find((x) => x.startsWith('-- GPU 0 '));
    return section !== undefined && new RegExp(`^ ! +${stopped} .* T `, 'm').test(section);
  };
  await waitSettled(ctx, `the stopped process ${stopped} as a leftover on GPU 0 after the crash`, (t) => underGpu0(t) && /crashed/.test(t.match(/^Job .*/m)?.[0] ?? ''), 60_000);

  // 02: the details pane on the stopped process. The pane follows the cursor; step towards the
  // stopped process's row, comparing where the cursor's row and that row are on the screen.
  keys(ctx, 'Enter');
  await waitScreen(ctx, 'the details pane', (t) => /^-- details: /m.test(t));
  for (let i = 0; ; i++) {
    const t = stripAnsi(captureAnsi(ctx));
    const lines = t.split('\n');
    const header = t.match(/^-- details: (.*?) -*$/m)?.[1] ?? '';
    if (header.startsWith(`pid ${stopped} `)) break;
    if (i > 40) throw new Error(`the cursor never reached pid ${stopped}:\n${t}`);
    const rowOf = (label: string): number => {
      const pid = /^pid (\d+) /.exec(label)?.[1];
      return lines.findIndex((l) => (pid ? new RegExp(`^ [! ] +${pid} `).test(l) : l.startsWith(`-- ${label}`)));
    };
    const target = rowOf(`pid ${stopped} `);
    const cursor = rowOf(header);
    keys(ctx, cursor >= 0 && target >= 0 && cursor > target ? 'Up' : 'Down');
    await waitScreen(ctx, 'the details pane to follow the cursor', (x) => (x.match(/^-- details: (.*?) -*$/m)?.[1] ?? '') !== header, 10_000);
  }
  keep(
    ctx,
    '02-stopped-tree-diagnosis.png',
    await waitSettled(ctx, 'the diagnosis of the stopped process', (t) => new RegExp(`^-- details: pid ${stopped} `, 'm').test(t) && /^ {2}! /m.test(t)),
    `reaper: a stopped loader worker (pid ${stopped}) and why it is a leftover`,
  );
  keys(ctx, 'Escape');
  await waitScreen(ctx, 'the details pane to close', (t) => !/^-- details: /m.test(t));

  // 04: leftovers only, every one tagged.
  keys(ctx, 'l');
  await waitScreen(ctx, 'the leftovers-only view', (t) => /\[leftovers only\]/.test(t));
  keys(ctx, 'a');
  const tagged = await waitSettled(ctx, 'every leftover tagged', (t) => /tagged \d+ leftovers?/.test(t));
  keep(ctx, '04-after-crash-leftovers.png', tagged, 'reaper after the launcher was SIGKILLed: leftovers only, all tagged');

  // 03: K on the tagged selection.
  keys(ctx, 'K');
  keep(ctx, '03-kill-confirmation.png', await waitSettled(ctx, 'the kill confirmation', (t) => /y\/Enter = yes/.test(t)), 'reaper: the kill confirmation for the tagged leftovers');

  // Let the screen do the killing, then check /proc.
  keys(ctx, 'y');
  await waitFor(`every process of run ${runId} gone`, () => markerPids(runId).length === 0, 60_000);
  log(`the TUI's kill left nothing of run ${runId}`);
  keys(ctx, 'q');
}

// ---------------------------------------------------------------- cleanup

function cleanup(ctx: Ctx, opts: { keepTmp?: boolean } = {}): void {
  if (ctx.tmuxStarted) {
    ctx.tmuxStarted = false;
    try {
      tmux(ctx, 'kill-server');
    } catch {
      /* already gone */
    }
    rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, ctx.socket), { force: true });
  }
  const env = { ...process.env, ...ctx.env };
  for (const id of runIds(ctx)) {
    if (markerPids(id).length === 0) continue;
    log(`cleaning up run ${id}`);
    spawnSync(process.execPath, [CLI, 'stop', id, '--kill', '--wait', '2'], { env, stdio: 'ignore', timeout: 60_000 });
    spawnSync(process.execPath, [CLI, 'reap', '--run', id, '--signal', 'kill', '--yes', '--all-users', '--gpus', 'none'], { env, stdio: 'ignore', timeout: 60_000 });
    // Last resort, still only what carries this run's unique marker.
    for (const pid of markerPids(id)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  if (opts.keepTmp) return;
  if (process.env.SCREENSHOTS_KEEP === '1') log(`kept ${ctx.tmp}`);
  else rmSync(ctx.tmp, { recursive: true, force: true });
}

async function main(): Promise<number> {
  mkdirSync(OUT, { recursive: true });
  const ctx = setup();
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup(ctx);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await scenes(ctx);
  } catch (e) {
    log(`failed: ${(e as Error).message}`);
    cleanup(ctx);
    return 1;
  }
  cleanup(ctx, { keepTmp: true });
  try {
    for (const c of ctx.captures) photograph(ctx, c);
    log(`${ctx.captures.length} screenshots in ${path.relative(ROOT, OUT) || '.'}`);
    return 0;
  } catch (e) {
    log(`failed: ${(e as Error).message}`);
    return 1;
  } finally {
    cleanup(ctx);
  }
}

main().then((code) => {
  process.exitCode = code;
});
