/**
 * One process as seen in one snapshot. Fields that could not be read are
 * `null` ("unknown"), never 0 or "" (ps-list's and nvitop's rule).
 */

/** A process identity: a pid alone is reused after ~31,000 forks here. */
export interface ProcKey {
  readonly pid: number;
  /** /proc/<pid>/stat field 22: clock ticks since boot. */
  readonly startTime: number;
}

export type StateLetter = 'R' | 'S' | 'D' | 'T' | 't' | 'Z' | 'X' | 'I' | 'P' | 'W' | 'K';

export interface ProcInfo extends ProcKey {
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  /** stat field 7, the controlling terminal's device number (0 = none). */
  readonly ttyNr: number;
  /** Terminal name as ps prints it ("pts/3"), null when none or unknown. */
  readonly tty: string | null;
  /** stat field 8: foreground process group of the terminal, -1 when none. */
  readonly tpgid: number;
  readonly state: StateLetter;
  /** Exactly what `ps -o stat` prints: state letter plus < N L s l +. */
  readonly stat: string;
  readonly nice: number;
  /** stat field 20, `ps -o nlwp`. */
  readonly threads: number;
  /** Real uid (status "Uid:", first column): what `ps -o ruid` prints (`ps -o uid` is the effective one). */
  readonly uid: number | null;
  /** Name of the real uid from /etc/passwd (`ps -o ruser`); null when unknown. */
  readonly user: string | null;
  /** Kernel comm (<=15 chars), sanitised for the terminal. */
  readonly comm: string;
  /** Raw argv; null when unreadable; [] for kernel threads and zombies. */
  readonly argv: readonly string[] | null;
  /** Display command: argv joined, or `[comm]`; sanitised (no control chars). */
  readonly cmd: string;
  /**
   * Resident set in KiB: VmRSS from status (statm's resident pages × page size when status is
   * unreadable), exactly what `ps -o rss`, top and psutil print; not stat's field 24, the
   * kernel's approximate counter (~10 % low). 0 for kernel threads and zombies.
   */
  readonly rssKiB: number | null;
  /** utime + stime in clock ticks. */
  readonly cpuTicks: number;
  /** CPU % of one core since the previous snapshot; null on the first one. */
  readonly cpuPercent: number | null;
  /** Kernel function it sleeps in; read only for T/t/D processes. */
  readonly wchan: string | null;
  /** 0 when not traced; null when unknown. */
  readonly tracerPid: number | null;
  readonly isKernelThread: boolean;
  /** REAPER_RUN from the environment (null: absent or unreadable). */
  readonly runId: string | null;
  /** REAPER_TASK from the environment. */
  readonly taskId: string | null;
  /** Minor numbers of /dev/nvidia<N> this process holds open; null when fds are unreadable. */
  readonly nvidiaMinors: readonly number[] | null;
  /**
   * Its cgroup path (the v2 "0::" line, else v1 name=systemd). Read only for children of init
   * or of systemd --user (null otherwise, and when unreadable); undefined when not probed. A
   * leaf "….service" means a service manager started and supervises it.
   */
  readonly cgroup?: string | null;
  /** Read only for stopped (T) processes: what it was doing when it stopped (see StopEvidence). */
  readonly stopEvidence?: StopEvidence | null;
}

/**
 * What a stopped process was doing when it stopped, from /proc/PID/syscall (of each thread)
 * and its fd links. null on the process when unreadable (the file needs ptrace rights:
 * owner or root), which is "no evidence", never a guess.
 */
export interface StopEvidence {
  /**
   * The terminal-relevant call a thread sits in: read/write/ioctl (any of their variants),
   * 'other' (some other system call, e.g. nanosleep or wait4), 'user' (stopped outside any
   * system call). The thread that touches a terminal wins.
   */
  readonly call: 'read' | 'write' | 'ioctl' | 'other' | 'user';
  /** The fd argument of read/write/ioctl, else null. */
  readonly fd: number | null;
  /** Where that fd points ("/dev/pts/3", "/dev/tty", "pipe:[123]"), null when unknown. */
  readonly fdPath: string | null;
  /** Where fd 0 points, null when unknown or closed. */
  readonly stdin: string | null;
}

/** Key for maps and sets: "pid:startTime". */
export function procKeyString(k: ProcKey): string {
  return `${k.pid}:${k.startTime}`;
}

