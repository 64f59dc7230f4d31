/**
 * Shell completion against the real CLI and real shells: the table matches every command's
 * --help, `reaper completion` prints the scripts, and bash (and zsh when installed) complete
 * commands, flags, values and run ids from the state folder.
 */
import assert from 'node:assert/strict';
import { CLI_MAX_BUFFER } from '../helpers/wait-for.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bashCompletionScript } from '../../src/cli/completion-bash.js';
import { COMMANDS } from '../../src/cli/completion-spec.js';
import { zshCompletionScript } from '../../src/cli/completion-zsh.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { maxBuffer: CLI_MAX_BUFFER,  encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function helpFlags(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<![\w-])--([a-z][a-z-]*[a-z])/g)) out.add(`--${m[1]}`);
  out.delete('--help');
  return out;
}

describe('completion table matches --help', () => {
  for (const c of COMMANDS) {
    it(`reaper ${c.name} --help: every flag it mentions is in the table, and only those`, () => {
      const r = cli([c.name, '--help']);
      assert.equal(r.status, 0, r.stderr);
      const inHelp = helpFlags(r.stdout);
      const inTable = new Set(c.flags.map((f) => f.name));
      const missing = [...inHelp].filter((f) => !inTable.has(f));
      assert.deepEqual(missing, [], `src/cli/completion-spec.ts lacks ${c.name} ${missing.join(' ')}`);
      const extra = [...inTable].filter((f) => !inHelp.has(f));
      assert.deepEqual(extra, [], `${c.name} --help does not mention ${extra.join(' ')}`);
    });
  }

  it('reaper --help lists exactly the commands of the table', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0, r.stderr);
    const listed = [...r.stdout.matchAll(/^ {2}reaper \[?([a-z]+)/gm)].map((m) => m[1]);
    assert.deepEqual([...listed].sort(), COMMANDS.map((c) => c.name).sort());
  });
});

describe('reaper completion', () => {
  it('prints the bash and zsh scripts', () => {
    const b = cli(['completion', 'bash']);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(b.stdout, bashCompletionScript());
    const z = cli(['completion', 'zsh']);
    assert.equal(z.status, 0, z.stderr);
    assert.equal(z.stdout, zshCompletionScript());
  });

  it('a bad or missing shell name is a usage error: exit 2, one line', () => {
    for (const args of [['completion', 'fish'], ['completion'], ['completion', 'bash', 'zsh'], ['completion', '--bogus']]) {
      const r = cli(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});

const RUN_A = '20261128-101500-ab12';
const RUN_B = '20261129-090000-cd34';

let tmp = '';
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'reaper-completion-'));
  for (const id of [RUN_A, RUN_B]) mkdirSync(path.join(tmp, 'state', 'reaper', 'runs', id), { recursive: true });
  writeFileSync(path.join(tmp, 'reaper.bash'), bashCompletionScript());
  mkdirSync(path.join(tmp, 'zfunc'));
  writeFileSync(path.join(tmp, 'zfunc', '_reaper'), zshCompletionScript());
});
after(() => rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));

const hasBash = spawnSync('bash', ['-c', '((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 3)))'], { stdio: 'ignore' }).status === 0;

/** COMPREPLY for COMP_WORDS = words (the last one is the word under the cursor), as bash splits them. */
function bashComplete(words: string[], cwd = EXAMPLES): string[] {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; _reaper; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script, 'bash', path.join(tmp, 'reaper.bash'), ...words], {
    cwd,
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH, HOME: tmp, XDG_STATE_HOME: path.join(tmp, 'state') },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('bash completion', { skip: hasBash ? false : 'bash 4.3+ not found' }, () => {
  it('reaper <TAB>: the commands', () => {
    assert.deepEqual(bashComplete(['reaper', '']).sort(), COMMANDS.map((c) => c.name).sort());
  });

  it('reaper --<TAB>: the live screen\'s flags with --help and --version, once each', () => {
    const got = bashComplete(['reaper', '--']);
    assert.equal(new Set(got).size, got.length);
    for (const f of ['--gpus', '--interval', '--all', '--readonly', '--batch', '--help', '--version']) assert.ok(got.includes(f), f);
  });

  it('reaper reap --s<TAB>: --signal and --state', () => {
    assert.deepEqual(bashComplete(['reaper', 'reap', '--s']).sort(), ['--signal', '--state']);
  });

  it('reaper reap --<TAB>: every reap flag', () => {
    const got = bashComplete(['reaper', 'reap', '--']);
    for (const f of COMMANDS.find((c) => c.name === 'reap')!.flags) assert.ok(got.includes(f.name), f.name);
    assert.ok(got.includes('--help'));
    assert.ok(!got.includes('--detach'), 'run flags do not leak into reap');
  });

  it('values: --signal, --signal=k (split at =), --gpus sim: (split at :), --state', () => {
    assert.deepEqual(bashComplete(['reaper', 'reap', '--signal', '']), ['term', 'kill', 'cont']);
    assert.deepEqual(bashComplete(['reaper', 'reap', '--signal', '=', 'k']), ['kill']);
    assert.deepEqual(bashComplete(['reaper', 'reap', '--signal', '=']), ['term', 'kill', 'cont']);
    assert.deepEqual(bashComplete(['reaper', 'ls', '--gpus', 's']), ['sim:1', 'sim:2', 'sim:4', 'sim:8']);
    // Bash replaces only what follows the ':' it split at.
    assert.deepEqual(bashComplete(['reaper', 'ls', '--gpus', 'sim', ':']), ['1', '2', '4', '8']);
    assert.deepEqual(bashComplete(['reaper', 'reap', '--state', '']), ['T', 'Z', 'D']);
    assert.deepEqual(bashComplete(['reaper', 'reap', '--grace', '']), []);
  });

  it('reaper stop <TAB> and reap --run <TAB>: run ids from the state folder, and last', () => {
    assert.deepEqual(bashComplete(['reaper', 'stop', '']).sort(), [RUN_A, RUN_B, 'last'].sort());
    assert.deepEqual(bashComplete(['reaper', 'stop', '2026112']).sort(), [RUN_A, RUN_B].sort());
    assert.deepEqual(bashComplete(['reaper', 'reap', '--run', 'l']), ['last']);
    assert.deepEqual(bashComplete(['reaper', 'stop', '--kill', '2026112', ]).sort(), [RUN_A, RUN_B].sort());
  });

  it('reaper show <TAB>: run ids and last; reaper runs --<TAB>: its own flags', () => {
    assert.deepEqual(bashComplete(['reaper', 'show', '']).sort(), [RUN_A, RUN_B, 'last'].sort());
    assert.deepEqual(bashComplete(['reaper', 'show', '--lines', '3', '20261129']), [RUN_B]);
    assert.deepEqual(bashComplete(['reaper', 'runs', '--']).sort(), ['--all', '--help', '--json', '--limit']);
    assert.deepEqual(bashComplete(['reaper', 'runs', '--limit', '']), []);
  });

  it('reaper run <TAB>: batch files and folders, not the python scripts', () => {
    const got = bashComplete(['reaper', 'run', '']);
    assert.ok(got.includes('demo.yaml'), got.join(' '));
    assert.ok(got.includes('demo'), 'folders, to descend into');
    assert.ok(!got.some((f) => f.endsWith('.py')));
    const inside = bashComplete(['reaper', 'run', 'demo/']);
    assert.deepEqual(inside.filter((f) => f.endsWith('.py')), []);
  });

  it('reaper completion <TAB>: the shells', () => {
    assert.deepEqual(bashComplete(['reaper', 'completion', '']), ['bash', 'zsh']);
  });
});

const hasZsh = spawnSync('zsh', ['-c', 'zmodload zsh/zpty'], { stdio: 'ignore' }).status === 0;

/**
 * Types each line plus TAB into an interactive `zsh -f` in a zpty and reads until the listing
 * shows `expect` (a zsh glob; zsh types a literal TAB when more input is already waiting, so
 * nothing else is sent before the listing is there), then clears the line and runs a command
 * whose output ("END<n>") differs from its typed text, and reads up to it. A listing that never
 * comes ends in the spawn's timeout.
 */
function zshListings(cases: Array<[line: string, expect: string]>): string[] {
  const driver = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1="%% "; fpath=(${path.join(tmp, 'zfunc')} $fpath); autoload -Uz compinit; compinit -u -D; LISTMAX=0; setopt nobeep; print READY$((40+2))'
zpty -r z out '*READY42*'
integer i=0
while (( $# )); do
  i+=1
  zpty -w -n z "$1"$'\\t'
  zpty -r z out "*$2*"
  print -r -- "<<<CASE>>>$out"
  shift 2
  zpty -w -n z $'\\x15'
  zpty -w z "print END\\$(( $i + 1000 ))"
  zpty -r z rest "*END$(( i + 1000 ))*"
done
zpty -d z
`;
  const r = spawnSync('zsh', ['-f', '-c', driver, 'zsh', ...cases.flat()], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH, HOME: tmp, XDG_STATE_HOME: path.join(tmp, 'state'), TERM: 'dumb' },
  });
  assert.equal(r.status, 0, `zsh driver: ${r.signal ?? ''} ${r.stderr} ${r.stdout.slice(-2000)}`);
   
  return r.stdout.split('<<<CASE>>>').slice(1).map((s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''));
}

describe('zsh completion', { skip: hasZsh ? false : 'zsh (with zsh/zpty) not installed' }, () => {
  it('lists commands, reap flags with descriptions, --signal values, sim:N and run ids', () => {
    const [cmds, reapS, signal, gpus, stop, show] = zshListings([
      ['reaper ', 'the live screen'],
      ['reaper reap --s', 'uninterruptible'],
      ['reaper reap --signal ', 'term'],
      ['reaper ls --gpus sim:', 'sim:8'],
      ['reaper stop ', 'last'],
      ['reaper show ', 'last'],
    ]);
    for (const c of COMMANDS) assert.match(cmds!, new RegExp(`\\b${c.name}\\s+-- `), c.name);
    assert.match(reapS!, /--signal\s+-- how to act/);
    assert.match(reapS!, /--state\s+-- stopped/);
    assert.match(signal!, /cont\s+kill\s+term/);
    assert.match(gpus!, /sim:1\s+sim:2\s+sim:4\s+sim:8/);
    for (const id of [RUN_A, RUN_B, 'last']) assert.ok(stop!.includes(id), `${id} in ${stop}`);
    for (const id of [RUN_A, RUN_B, 'last']) assert.ok(show!.includes(id), `${id} in ${show}`);
  });
});
