/**
 * Runs a command on a real pseudo-terminal (python3's pty.fork: the command is the session leader
 * of a new session with the pty as its controlling terminal) and, on request, hangs the terminal
 * up the way sshd does when the connection drops: close the master, then SIGHUP the command.
 * The helper drains the terminal all along, so the command never blocks on a full pty.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const SCRIPT = `
import json, os, pty, select, signal, sys
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
sys.stdout.write(json.dumps({"pid": pid}) + "\\n"); sys.stdout.flush()
out = b""
closed = False
while True:
    r, _, _ = select.select([fd, 0], [], [])
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            closed = True
            break
        out += data
    if 0 in r:
        sys.stdin.readline()
        break
if not closed:
    os.close(fd)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
_, status = os.waitpid(pid, 0)
res = {"code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
       "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
       "out": out[-6000:].decode("utf8", "replace")}
sys.stdout.write(json.dumps(res) + "\\n"); sys.stdout.flush()
`;

export const hasPython = spawnSync('python3', ['-c', 'import pty']).status === 0;

export interface PtyRun {
  readonly helper: ChildProcess;
  /** Pid of the command (the pty's session leader), once known. */
  pid(): Promise<number>;
  /** Closes the master and sends SIGHUP; resolves with how the command ended. */
  hangUp(): Promise<{ code: number | null; signal: number | null; out: string }>;
  /** Resolves when the command ended by itself (terminal closed from its side). */
  readonly done: Promise<{ code: number | null; signal: number | null; out: string }>;
}

export function startOnPty(argv: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): PtyRun {
  const helper = spawn('python3', ['-c', SCRIPT, JSON.stringify(argv)], { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  let buf = '';
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  helper.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const nth = (n: number): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (lines.length > n) resolve(lines[n]!);
        else if (helper.exitCode !== null) reject(new Error('pty helper exited early'));
        else waiters.push(check);
      };
      helper.once('exit', () => setTimeout(check, 50));
      check();
    });
  const done = nth(1) as Promise<{ code: number | null; signal: number | null; out: string }>;
  done.catch(() => undefined);
  return {
    helper,
    pid: async () => Number((await nth(0)).pid),
    hangUp: () => {
      helper.stdin!.write('hangup\n');
      return done;
    },
    done,
  };
}
