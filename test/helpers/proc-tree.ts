/**
 * A real process tree for integration tests, built by one python3 script:
 *   root (detached: own session and group, REAPER_RUN/REAPER_TASK in its environment)
 *   ├─ stopped   sleep 600 (the test sends it SIGSTOP)
 *   ├─ zombie    exits at once; root never waits for it
 *   ├─ threads   python with 3 extra threads (stat 'l')
 *   ├─ setsid    python that called setsid() (stat 's')
 *   ├─ weird     python whose comm is "x) (y"
 *   ├─ argv0     sleep exec'd with argv[0] "weird) (argv0"
 *   ├─ nice      python at nice 5 (stat 'N')
 *   ├─ locked    python with an mlock()ed page (stat 'L'; needs CAP_IPC_LOCK or a memlock limit)
 *   └─ pty       python in its own session on a pseudo-terminal, foreground (stat 's+')
 * Cleanup SIGKILLs the root's group and every pid recorded, even when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = existsSync('/root/.pyenv/shims/python3') ? '/root/.pyenv/shims/python3' : 'python3';

const SCRIPT = String.raw`
import os, sys, time, json, threading, ctypes, pty
pids = {'root': os.getpid()}
def child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    return pid
def forever():
    time.sleep(600)
pids['stopped'] = child(lambda: os.execvp('sleep', ['sleep', '600']))
pids['zombie'] = child(lambda: None)
def threads():
    for _ in range(3):
        threading.Thread(target=forever, daemon=True).start()
    forever()
pids['threads'] = child(threads)
def setsid():
    os.setsid()
    forever()
pids['setsid'] = child(setsid)
def weird():
    with open('/proc/self/comm', 'w') as f:
        f.write('x) (y')
    forever()
pids['weird'] = child(weird)
pids['argv0'] = child(lambda: os.execvp('bash', ['bash', '-c', "exec -a 'weird) (argv0' sleep 600"]))
def nice():
    os.nice(5)
    forever()
pids['nice'] = child(nice)
def locked():
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8192)
    libc.mlock(buf, ctypes.c_size_t(8192))
    forever()
pids['locked'] = child(locked)
ppid, fd = pty.fork()
if ppid == 0:
    forever()
    os._exit(0)
pids['pty'] = ppid
print(json.dumps(pids), flush=True)
forever()
`;

export interface ProcTree {
  readonly pids: Record<'root' | 'stopped' | 'zombie' | 'threads' | 'setsid' | 'weird' | 'argv0' | 'nice' | 'locked' | 'pty', number>;
  readonly child: ChildProcess;
  readonly runId: string;
  kill(): void;
}

export async function startProcTree(): Promise<ProcTree> {
  const runId = `proc-test-${process.pid}-${Date.now()}`;
  const child = spawn(PYTHON, ['-c', SCRIPT], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, REAPER_RUN: runId, REAPER_TASK: 'task-7' },
  });
  const killAll = (pids: number[]): void => {
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // group gone
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      killAll([]);
      reject(new Error('proc tree fixture did not report its pids in 20 s'));
    }, 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proc tree fixture exited early (${code})`));
    });
  });
  const pids = JSON.parse(line) as ProcTree['pids'];
  return { pids, child, runId, kill: () => killAll(Object.values(pids)) };
}
