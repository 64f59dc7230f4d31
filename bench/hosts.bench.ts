/**
 * The several-hosts screen on the real SSH lab (test/lab/hosts-start.sh: host1..3, each an sshd
 * that is PID 1 of its own PID namespace), every figure beside its baseline from the same run:
 *  - link: what one host costs on the wire at ~2,000 processes, 1 s interval, over a 20 s window:
 *    a full snapshot every second against deltas, with and without ssh `Compression=yes` (passed
 *    through the transport's sshArgs). Wire bytes are what the ssh client read from its socket
 *    (/proc/PID/io rchar, no ControlMaster, handshake excluded); the agent's CPU per refresh is
 *    read from this machine's /proc (the hosts' processes are this machine's).
 *  - keys: key → screen on `reaper --hosts host1,host2,host3` with and without a hung fourth host
 *    (a port that accepts and never says a word), `?` then Escape, median of 20, tmux capture included.
 *  - cpu: that screen (reaper, its ssh clients and masters) over 20 s against the one-host local
 *    screen (which sees every process of this machine, the hosts' included).
 *  - ls: `reaper ls --hosts host1,host2,host3` (cold: no master yet; warm: masters up) against
 *    three sequential `ssh hostN reaper ls --json`, alternated, median of 5.
 * Each host gets 2,000 sleeping processes with a GPU-server-like argv and a unique tag, started
 * over ssh inside its namespace and killed by that tag afterwards (on that host, then any left
 * in this machine's /proc by the same tag), even on failure. Without root, the lab or tmux each
 * group is one row saying why.
 *
 * Run alone: node dist/bench/hosts.bench.js   (REAPER_BENCH_HOSTS_SECONDS=5 for a quick look)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openSshStream, shellQuote } from '../src/remote/ssh.js';
import { hostsLab, pidsWithCmdline, type HostsLab } from '../test/helpers/ssh-lab.js';
import type { BenchRow } from './bench-row.js';

const MAIN = fileURLToPath(new URL('../bin/reaper.mjs', import.meta.url));
const PROCS = Number(process.env.REAPER_BENCH_PROCS ?? 2000);
const WINDOW_S = Number(process.env.REAPER_BENCH_HOSTS_SECONDS ?? 20);
const WARMUP_MS = 4000;
const CLK_TCK = 100;
const WIDTH = 120;
const HEIGHT = 40;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** utime + stime, and with `reaped` also the ticks of children already waited for. */
function ticksOf(pid: number, reaped = true): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return NaN;
  }
}

function ppidOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function rcharOf(pid: number): number {
  try {
    return Number(/^rchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** This machine's pid whose environment holds `needle` (the agent, tagged through its env). */
function pidWithEnv(needle: string): number | null {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/environ`, 'latin1').includes(needle)) return Number(e);
    } catch {
      /* gone */
    }
  }
  return null;
}

/** Ticks of `roots`, every descendant and every process whose cmdline holds `also` (ssh masters that left the tree). */
function treeTicks(roots: number[], also: string | null): number {
  const parent = new Map<number, number>();
  const own = new Set<number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    parent.set(pid, ppidOf(pid));
    if (also !== null) {
      try {
        if (readFileSync(`/proc/${e}/cmdline`, 'latin1').includes(also)) own.add(pid);
      } catch {
        /* gone */
      }
    }
  }
  const kids = new Map<number, number[]>();
  for (const [pid, pp] of parent) kids.set(pp, [...(kids.get(pp) ?? []), pid]);
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (own.has(pid) && !roots.includes(pid)) continue;
    own.add(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  let total = 0;
  for (const pid of own) total += ticksOf(pid) || 0;
  return total;
}

// --- processes on the hosts ------------------------------------------------------------------

function sshSync(lab: HostsLab, host: string, cmd: string, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ssh', [host, cmd], { env: lab.env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Starts PROCS sleepers on `host`, each argv ending in `hostTag`; resolves when all are up. */
async function startSleepers(lab: HostsLab, host: string, hostTag: string): Promise<void> {
  const argv0 = `python3 /home/alice/projects/imagenet/train.py --config configs/resnet50-bs256.yaml --lr 0.001 --rank $i --tag ${hostTag}`;
  const loop = `i=0; while [ $i -lt ${PROCS} ]; do (exec -a "${argv0}" sleep 900) & i=$((i+1)); done; wait`;
  const r = sshSync(lab, host, `setsid bash -c ${shellQuote(loop)} </dev/null >/dev/null 2>&1 & echo started`);
  if (r.status !== 0) throw new Error(`${host}: could not start sleepers: ${r.stderr.trim().split('\n').pop()}`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const n = pidsWithCmdline(`--tag ${hostTag}`).length;
    if (n >= PROCS) return;
    if (Date.now() > deadline) throw new Error(`${host}: ${n} of ${PROCS} sleepers after 180 s`);
    await sleep(1000);
  }
}

/** Kills everything carrying `hostTag` on `host` (inside its namespace), then any left here by that tag. */
function killTagged(lab: HostsLab, host: string, hostTag: string): void {
  // `[-]-tag`: the pattern does not match the shell that runs pkill.
  sshSync(lab, host, `pkill -KILL -f -- ${shellQuote(`[-]-tag ${hostTag}`)}; true`, 20_000);
  for (const pid of pidsWithCmdline(hostTag)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function hostProcs(lab: HostsLab, host: string): number {
  const r = sshSync(lab, host, 'ls /proc | grep -c "^[0-9]"', 20_000);
  return Number(r.stdout.trim());
}

// --- 1. the link ------------------------------------------------------------------------------

interface LinkRun {
  readonly wireBps: number;
  readonly appBps: number;
  readonly messages: number;
  readonly agentMsPerRefresh: number;
  /** The ssh client's own CPU over the window (decryption, decompression), % of one core. */
  readonly sshPct: number;
  /** The host's sshd session process (the agent's parent: encryption, compression), % of one core. */
  readonly sshdPct: number;
}

async function linkRun(lab: HostsLab, host: string, agentArgs: string[], compress: boolean, tag: string): Promise<LinkRun> {
  const envTag = `REAPER_BENCH_AGENT=${tag}`;
  const command = `${envTag} exec ${lab.remoteCli!} agent ${agentArgs.map(shellQuote).join(' ')}`;
  let first: { t: number; rchar: number; ticks: number; agent: number | null; ssh: number; sshd: number } | null = null;
  let messages = 0;
  let appBytes = 0;
  const stream = openSshStream({ name: host, local: false }, command, {
    sshArgs: [...lab.sshArgs, '-o', `Compression=${compress ? 'yes' : 'no'}`],
    env: lab.env,
    controlDir: null,
    maxLineBytes: 64 * 1024 * 1024,
    idleMs: 30_000,
    onLine: (line) => {
      if (!line.startsWith('{"type":"snapshot"') && !line.startsWith('{"type":"delta"')) return;
      if (first === null) {
        const agent = pidWithEnv(`${envTag}\0`);
        first = { t: performance.now(), rchar: rcharOf(stream.pid!), ticks: agent === null ? NaN : ticksOf(agent), agent, ssh: ticksOf(stream.pid!, false), sshd: agent === null ? NaN : ticksOf(ppidOf(agent), false) };
        return;
      }
      messages++;
      appBytes += Buffer.byteLength(line) + 1;
    },
  });
  try {
    const deadline = Date.now() + 60_000;
    while (first === null) {
      if (Date.now() > deadline) throw new Error(`${host}: no snapshot within 60 s`);
      await sleep(100);
    }
    await sleep(WINDOW_S * 1000);
    const f = first as { t: number; rchar: number; ticks: number; agent: number | null; ssh: number; sshd: number };
    const secs = (performance.now() - f.t) / 1000;
    const wire = rcharOf(stream.pid!) - f.rchar;
    const ticks = f.agent === null ? NaN : ticksOf(f.agent) - f.ticks;
    const sshTicks = ticksOf(stream.pid!, false) - f.ssh;
    const sshdTicks = f.agent === null ? NaN : ticksOf(ppidOf(f.agent), false) - f.sshd;
    return { wireBps: wire / secs, appBps: appBytes / secs, messages, agentMsPerRefresh: ((ticks / CLK_TCK) * 1000) / Math.max(1, messages), sshPct: (sshTicks / CLK_TCK / secs) * 100, sshdPct: (sshdTicks / CLK_TCK / secs) * 100 };
  } finally {
    stream.close();
    const t = setTimeout(() => stream.kill(), 5000);
    await stream.done;
    clearTimeout(t);
  }
}

async function linkRows(lab: HostsLab, tag: string): Promise<BenchRow[]> {
  const G = 'hosts link';
  const hosts = lab.hosts.slice(0, 3);
  const base = ['--interval', '1000', '--gpus', 'none'];
  const cases = [
    { key: 'full', args: [...base, '--full-every', '1'], compress: false },
    { key: 'delta', args: base, compress: false },
    { key: 'full-z', args: [...base, '--full-every', '1'], compress: true },
    { key: 'delta-z', args: base, compress: true },
  ];
  const got = new Map<string, LinkRun[]>();
  for (const c of cases) {
    process.stderr.write(`bench hosts: link ${c.key} …\n`);
    got.set(c.key, await Promise.all(hosts.map((h) => linkRun(lab, h, c.args, c.compress, `${tag}-${h}-${c.key}`))));
  }
  const kib = (k: string, f: (r: LinkRun) => number): number => mean(got.get(k)!.map(f)) / 1024;
  const note = (k: string): string => {
    const rs = got.get(k)!;
    return `mean of ${rs.length} hosts (${rs.map((r) => (r.wireBps / 1024).toFixed(1)).join(', ')}); agent stdout ${kib(k, (r) => r.appBps).toFixed(1)} KiB/s; ${rs[0]!.messages} msgs`;
  };
  const rows: BenchRow[] = [];
  const wire = (k: string): number => kib(k, (r) => r.wireBps);
  rows.push({ group: G, name: 'full snapshot every 1 s, wire', value: wire('full'), unit: 'KiB/s/host', note: note('full') });
  rows.push({ group: G, name: 'deltas, wire', value: wire('delta'), unit: 'KiB/s/host', note: note('delta') });
  rows.push({ group: G, name: 'full, Compression=yes, wire', value: wire('full-z'), unit: 'KiB/s/host', note: note('full-z') });
  rows.push({ group: G, name: 'deltas, Compression=yes, wire', value: wire('delta-z'), unit: 'KiB/s/host', note: note('delta-z') });
  // The agent sends one full snapshot every 60 messages by default: amortised over a minute.
  const steady = (d: string, f: string): number => (59 * wire(d) + wire(f)) / 60;
  rows.push({ group: G, name: 'deltas + 1 full per 60 s, wire', value: steady('delta', 'full'), unit: 'KiB/s/host', note: 'the default, amortised' });
  rows.push({ group: G, name: 'the same, Compression=yes', value: steady('delta-z', 'full-z'), unit: 'KiB/s/host', note: 'the default + ssh -C, amortised' });
  rows.push({ group: G, name: 'full / deltas (amortised)', value: wire('full') / steady('delta', 'full'), unit: 'x' });
  rows.push({ group: G, name: 'full: plain / Compression=yes', value: wire('full') / wire('full-z'), unit: 'x' });
  rows.push({ group: G, name: 'deltas: plain / Compression=yes', value: steady('delta', 'full') / steady('delta-z', 'full-z'), unit: 'x', note: 'amortised' });
  const sshCpu = (k: string): number => mean(got.get(k)!.map((r) => r.sshPct));
  rows.push({ group: G, name: 'ssh client CPU, full: plain / Compression=yes', value: sshCpu('full'), unit: '% of one core', note: `Compression=yes: ${sshCpu('full-z').toFixed(2)} %; deltas: ${sshCpu('delta').toFixed(2)} / ${sshCpu('delta-z').toFixed(2)} %` });
  const sshdCpu = (k: string): number => mean(got.get(k)!.map((r) => r.sshdPct));
  rows.push({ group: G, name: 'host sshd CPU, full: plain / Compression=yes', value: sshdCpu('full'), unit: '% of one core', note: `Compression=yes: ${sshdCpu('full-z').toFixed(2)} %; deltas: ${sshdCpu('delta').toFixed(2)} / ${sshdCpu('delta-z').toFixed(2)} %` });
  const cpu = (k: string): number => mean(got.get(k)!.map((r) => r.agentMsPerRefresh));
  rows.push({ group: 'hosts cpu', name: 'agent CPU per refresh, deltas', value: cpu('delta'), unit: 'ms/host', note: `always full: ${cpu('full').toFixed(1)} ms; ms of CPU per 1 s refresh = % of one core × 10` });
  return rows;
}

// --- 2 and 3. the screen ------------------------------------------------------------------------

/** Panes not yet killed: the group's cleanup ends them on any way out. */
const livePanes = new Set<Pane>();

class Pane {
  readonly socket = `reaper-hostbench-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  constructor(command: string, env: NodeJS.ProcessEnv) {
    livePanes.add(this);
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'b', '-x', String(WIDTH), '-y', String(HEIGHT), command], { env, stdio: 'ignore' });
  }
  pid(): number {
    return Number(execFileSync('tmux', ['-L', this.socket, 'display-message', '-p', '-t', 'b', '#{pane_pid}'], { encoding: 'utf8' }).trim());
  }
  capture(): string {
    return execFileSync('tmux', ['-L', this.socket, 'capture-pane', '-p', '-t', 'b'], { encoding: 'utf8' });
  }
  keys(...k: string[]): void {
    execFileSync('tmux', ['-L', this.socket, 'send-keys', '-t', 'b', ...k]);
  }
  kill(): void {
    livePanes.delete(this);
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // gone
    }
    rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

async function ready(pane: Pane, pred: (s: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!pred(pane.capture())) {
    if (Date.now() > deadline) throw new Error(`${what} not ready after 60 s: ${pane.capture().split('\n')[0]}`);
    await sleep(200);
  }
}

/**
 * The reaper process: the pane's own process, or its child where a shell sat between. reaper
 * renames itself (process.title) and its ssh children carry MAIN in their remote command, so
 * argv[0] tells: `reaper` or node.
 */
function mainPid(shell: number): number {
  const isReaper = (pid: number): boolean => {
    try {
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0]!.trim();
      return argv0 === 'reaper' || argv0 === process.execPath;
    } catch {
      return false;
    }
  };
  if (isReaper(shell)) return shell;
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e) && ppidOf(Number(e)) === shell && isReaper(Number(e))) return Number(e);
  return shell;
}

/** % of one core used by the pane's tree (and ssh masters whose argv holds `also`) over the window. */
async function cpuOf(pane: Pane, also: string | null): Promise<{ total: number; main: number }> {
  await sleep(WARMUP_MS);
  const shell = pane.pid();
  const main = mainPid(shell);
  const a = treeTicks([shell], also);
  const m0 = ticksOf(main, false);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const b = treeTicks([shell], also);
  const m1 = ticksOf(main, false);
  const secs = (performance.now() - t0) / 1000;
  return { total: ((b - a) / CLK_TCK / secs) * 100, main: ((m1 - m0) / CLK_TCK / secs) * 100 };
}

type Keys = { median: number; max: number; n: number };

/**
 * `?` then Escape, 10 times each on every pane, the panes taking turns (so a busy moment of the
 * machine falls on both): ms until the pane shows the change (an upper bound: tmux capture included).
 */
async function keyLatency(panes: Pane[]): Promise<Keys[]> {
  const times: number[][] = panes.map(() => []);
  for (let i = 0; i < 10; i++) {
    for (const [p, pane] of panes.entries()) {
      for (const [key, shown] of [
        ['?', (c: string) => c.includes('reaper keys')],
        ['Escape', (c: string) => c.includes('COMMAND') && !c.includes('reaper keys')],
      ] as const) {
        const t0 = performance.now();
        pane.keys(key);
        while (!shown(pane.capture())) {
          if (performance.now() - t0 > 5000) throw new Error(`no reaction to ${key} within 5 s`);
        }
        times[p]!.push(performance.now() - t0);
        await sleep(150 + Math.random() * 300); // land at different points of the refresh cycle
      }
    }
  }
  return times.map((t) => ({ median: median(t), max: Math.max(...t), n: t.length }));
}

interface ScreenEnv {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
}

function screenEnv(lab: HostsLab, dir: string, name: string): ScreenEnv {
  const rt = path.join(dir, name);
  mkdirSync(rt, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...lab.env, TERM: 'xterm-256color', XDG_RUNTIME_DIR: rt, XDG_STATE_HOME: path.join(dir, 'state'), LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  delete env.TMUX;
  delete env.NO_COLOR;
  return { dir: rt, env };
}

function hostsFile(lab: HostsLab, dir: string, extra: string[]): string {
  const file = path.join(dir, `hosts-${extra.length}`);
  writeFileSync(file, [...lab.hosts.slice(0, 3).map((h) => `${h} ${lab.remoteCli!}`), ...extra, ''].join('\n'));
  return file;
}

/** A port that accepts (the kernel's backlog) and never says a word: ssh waits for a banner that never comes. */
function silentPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve, reject) => {
    const held: Socket[] = [];
    const server = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    server.on('error', reject);
    server.on('close', () => held.forEach((s) => s.destroy()));
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server }));
  });
}

async function screenRows(lab: HostsLab, dir: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const [h1, h2, h3] = lab.hosts;
  const hostsOk = (c: string): boolean => [h1, h2, h3].every((h) => new RegExp(`\\b${h} ok \\d+ ms`).test(c.split('\n')[0] ?? ''));
  const flags = '--gpus none --interval 1';
  const hostsNote = `3 hosts × ~${PROCS} processes, ${WIDTH}x${HEIGHT} pane, 1 s refresh, ${WINDOW_S} s window`;

  // The three-host screen alone: CPU.
  const three = screenEnv(lab, dir, 'rt3');
  const threeCmd = `${process.execPath} ${MAIN} --hosts @${hostsFile(lab, dir, [])} ${flags}`;
  let pane = new Pane(threeCmd, three.env);
  let cpuHosts: { total: number; main: number } | null = null;
  try {
    await ready(pane, hostsOk, 'the three-host screen');
    process.stderr.write('bench hosts: screen cpu (3 hosts) …\n');
    cpuHosts = await cpuOf(pane, three.dir);
  } finally {
    pane.kill();
  }

  // Keys: the same screen (the baseline) beside one with a hung fourth host, taking turns.
  const quiet = await silentPort();
  const hung = screenEnv(lab, dir, 'rt4');
  const base = screenEnv(lab, dir, 'rt3k');
  let keysBase: Keys | null = null;
  let keysHung: Keys | null = null;
  let hungState = '';
  let captureMs = NaN;
  const panes: Pane[] = [];
  try {
    panes.push(new Pane(threeCmd, base.env));
    panes.push(new Pane(`${process.execPath} ${MAIN} --hosts @${hostsFile(lab, dir, [`ssh://reaperlab@127.0.0.1:${quiet.port} ${lab.remoteCli!}`])} ${flags}`, hung.env));
    await ready(panes[0]!, hostsOk, 'the three-host screen');
    await ready(panes[1]!, hostsOk, 'the screen with a hung host');
    await sleep(WARMUP_MS);
    process.stderr.write('bench hosts: keys (3 hosts, and 3 hosts + a hung one) …\n');
    [keysBase, keysHung] = (await keyLatency(panes)) as [Keys, Keys];
    const caps: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      panes[0]!.capture();
      caps.push(performance.now() - t0);
    }
    captureMs = median(caps);
    hungState = /127\.0\.0\.1:\d+ (\S+)/.exec(panes[1]!.capture().split('\n')[0] ?? '')?.[1] ?? '?';
  } finally {
    for (const p of panes) p.kill();
    quiet.server.close();
  }

  // The one-host local screen, same flags.
  const local = screenEnv(lab, dir, 'rt1');
  pane = new Pane(`${process.execPath} ${MAIN} ${flags}`, local.env);
  let cpuLocal: { total: number; main: number } | null = null;
  const procsHere = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
  try {
    await ready(pane, (s) => /procs: [\d,]+ · \d+ ms/.test(s), 'the local screen');
    process.stderr.write('bench hosts: screen cpu (local) …\n');
    cpuLocal = await cpuOf(pane, null);
  } finally {
    pane.kill();
  }

  rows.push({ group: 'hosts keys', name: 'key → screen, 3 hosts (median)', value: keysBase!.median, unit: 'ms', note: `max ${keysBase!.max.toFixed(0)} ms of ${keysBase!.n}; the baseline` });
  rows.push({ group: 'hosts keys', name: 'key → screen, 3 hosts + 1 hung (median)', value: keysHung!.median, unit: 'ms', note: `max ${keysHung!.max.toFixed(0)} ms of ${keysHung!.n}; a port that never answers (shown: ${hungState}); goal: < 100 ms` });
  rows.push({ group: 'hosts keys', name: 'one tmux capture-pane (median)', value: captureMs, unit: 'ms', note: `of 20, right after; the poll's own step; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores` });
  rows.push({ group: 'hosts keys', name: 'hung / baseline', value: keysHung!.median / keysBase!.median, unit: 'x', note: 'goal: no worse (≈ 1)' });
  rows.push({ group: 'hosts cpu', name: 'reaper --hosts (3 hosts, with its ssh)', value: cpuHosts!.total, unit: '% of one core', note: `${hostsNote}; ssh masters included` });
  rows.push({ group: 'hosts cpu', name: 'reaper --hosts (3 hosts, main process only)', value: cpuHosts!.main, unit: '% of one core', note: hostsNote });
  rows.push({ group: 'hosts cpu', name: 'reaper, local screen', value: cpuLocal!.total, unit: '% of one core', note: `this machine alone: ${procsHere} processes (the hosts' included), same pane and window` });
  rows.push({ group: 'hosts cpu', name: '3-host screen / local screen', value: cpuHosts!.total / cpuLocal!.total, unit: 'x', note: 'whole trees' });
  return rows;
}

// --- 4. ls --hosts ----------------------------------------------------------------------------

function wallOf(cmd: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}: exit ${r.status}: ${String(r.stderr).trim().split('\n').pop()}`);
  return performance.now() - t0;
}

/** Ends every ssh master whose socket lives in `dir` (ours). */
function closeMasters(dir: string): void {
  for (const pid of pidsWithCmdline(dir)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
}

async function lsRows(lab: HostsLab, dir: string): Promise<BenchRow[]> {
  const G = 'hosts ls';
  const hosts = lab.hosts.slice(0, 3);
  const file = hostsFile(lab, dir, []);
  const cold: number[] = [];
  const warm: number[] = [];
  const seq: number[] = [];
  const warmEnv = screenEnv(lab, dir, 'rt-ls-warm');
  wallOf(process.execPath, [MAIN, 'ls', '--hosts', `@${file}`, '--json'], warmEnv.env); // masters up
  for (let i = 0; i < 5; i++) {
    const c = screenEnv(lab, dir, `rt-ls-${i}`);
    cold.push(wallOf(process.execPath, [MAIN, 'ls', '--hosts', `@${file}`, '--json'], c.env));
    closeMasters(c.dir);
    warm.push(wallOf(process.execPath, [MAIN, 'ls', '--hosts', `@${file}`, '--json'], warmEnv.env));
    const t0 = performance.now();
    for (const h of hosts) wallOf('ssh', [h, `${lab.remoteCli!} ls --json`], lab.env);
    seq.push(performance.now() - t0);
  }
  closeMasters(warmEnv.dir);
  // The lab's hosts share this machine's cores: three remote `ls` at once compete for them, which
  // real hosts would not (a floor on the gain, not a ceiling).
  const note = `median of 5, alternated; same remote reaper; the 3 hosts share ${cpus().length} cores`;
  return [
    { group: G, name: 'reaper ls --hosts h1,h2,h3, cold', value: median(cold), unit: 'ms', note: `${note}; no master yet (a new connection each)` },
    { group: G, name: 'reaper ls --hosts h1,h2,h3, warm', value: median(warm), unit: 'ms', note: `${note}; ControlMaster up` },
    { group: G, name: '3 × sequential ssh hostN reaper ls --json', value: median(seq), unit: 'ms', note: `${note}; the baseline` },
    { group: G, name: 'sequential / ls --hosts cold', value: median(seq) / median(cold), unit: 'x' },
    { group: G, name: 'sequential / ls --hosts warm', value: median(seq) / median(warm), unit: 'x' },
  ];
}

// --- the whole group --------------------------------------------------------------------------

export async function bench(): Promise<BenchRow[]> {
  const check = await hostsLab();
  const why = check.why ?? (check.lab && !check.lab.remoteCli ? check.lab.remoteCliWhy : null);
  if (why || !check.lab) return [{ group: 'hosts', name: 'skipped', value: NaN, unit: '', note: why ?? 'no lab' }];
  const lab = check.lab;
  if (lab.hosts.length < 3) return [{ group: 'hosts', name: 'skipped', value: NaN, unit: '', note: `the lab has ${lab.hosts.length} hosts, 3 needed` }];
  const hosts = lab.hosts.slice(0, 3);
  const tag = `reaper-hostbench-${process.pid}x${Date.now().toString(36)}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'reaper-hostbench-'));
  const cleanup = (): void => {
    for (const p of [...livePanes]) p.kill();
    for (const h of hosts) killTagged(lab, h, `${tag}-${h}`);
    closeMasters(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  // Interrupted: the same cleanup (a SIGKILL leaves the sleepers to end by themselves in 900 s).
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: BenchRow[] = [];
  try {
    process.stderr.write(`bench hosts: ${PROCS} sleepers on each of ${hosts.join(', ')} …\n`);
    await Promise.all(hosts.map((h) => startSleepers(lab, h, `${tag}-${h}`)));
    rows.push({ group: 'hosts', name: 'processes per host', value: mean(hosts.map((h) => hostProcs(lab, h))), unit: 'count', note: `${PROCS} sleeping per host, ~120-char command lines, seen from inside each host` });
    const part = async (name: string, f: () => Promise<BenchRow[]>): Promise<void> => {
      try {
        rows.push(...(await f()));
      } catch (e) {
        rows.push({ group: name, name: 'error', value: NaN, unit: '', note: String(e).split('\n')[0] });
      }
    };
    await part('hosts link', () => linkRows(lab, tag));
    if (hasTmux()) await part('hosts screen', () => screenRows(lab, dir));
    else rows.push({ group: 'hosts screen', name: 'skipped', value: NaN, unit: '', note: 'tmux is not installed' });
    await part('hosts ls', () => lsRows(lab, dir));
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const left = hosts.reduce((n, h) => n + pidsWithCmdline(`${tag}-${h}`).length, 0);
    if (left > 0) rows.push({ group: 'hosts', name: 'left after cleanup', value: left, unit: 'procs', note: 'should be 0' });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await bench()) process.stdout.write(`${r.group}\t${r.name}\t${Number.isFinite(r.value) ? r.value.toFixed(2) : r.value}\t${r.unit}\t${r.note ?? ''}\n`);
}
