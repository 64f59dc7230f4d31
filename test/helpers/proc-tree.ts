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

import { PYTHON } from './python.js';

export { PYTHON };

// Every child hands-shake before the pids are printed: it holds the write end of a pipe
// (close-on-exec, as Python makes every fd) and closes it once it is what the test expects, or
// its exec closes it; the root reads to EOF. The root then waits until each child's argv is the
// exec'd program, so a test never meets a child that has not exec'd yet.
const SCRIPT = String.raw`
import os, sys, time, json, threading, ctypes, pty
pids = {'root': os.getpid()}
def child(fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            fn(w)
        finally:
            os._exit(0)
    os.close(w)
    while os.read(r, 64):
        pass
    os.close(r)
    return pid
def ready(w):
    os.close(w)
def forever():
    time.sleep(600)
def wait_argv(pid, argv0):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if f.read().split(b'\0')[0] == argv0.encode():
                    return
        except OSError:
            return
        time.sleep(0.005)
pids['stopped'] = child(lambda w: os.execvp('sleep', ['sleep', '600']))
pids['zombie'] = child(lambda w: None)
def threads(w):
    for _ in range(3):
        threading.Thread(target=forever, daemon=True).start()
    ready(w)
    forever()
pids['threads'] = child(threads)
def setsid(w):
    os.setsid()
    ready(w)
    forever()
pids['setsid'] = child(setsid)
def weird(w):
    with open('/proc/self/comm', 'w') as f:
        f.write('x) (y')
    ready(w)
    forever()
pids['weird'] = child(weird)
# One exec with argv[0] chosen (no shell in between, so the pipe's EOF means: exec'd).
pids['argv0'] = child(lambda w: os.execvp('sleep', ['weird) (argv0', '600']))
def nice(w):
    os.nice(5)
    ready(w)
    forever()
pids['nice'] = child(nice)
def locked(w):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8192)
    libc.mlock(buf, ctypes.c_size_t(8192))
    ready(w)
    forever()
pids['locked'] = child(locked)
r, w = os.pipe()
ppid, fd = pty.fork()
if ppid == 0:
    os.close(r)
    os.close(w)
    forever()
    os._exit(0)
os.close(w)
while os.read(r, 64):
    pass
pids['pty'] = ppid
# A failed exec would leave python's argv: make sure both really run sleep now.
wait_argv(pids['stopped'], 'sleep')
wait_argv(pids['argv0'], 'weird) (argv0')
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
