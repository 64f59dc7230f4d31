/**
 * The local executor: each stage is a process group of its own (own session, stdin closed)
 * inside the containment layers (containment.ts), watched through its cgroup or /proc scans,
 * torn down by the shared signal ladder (src/actions) and the layers (cgroup.kill).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import { openAuditLog, teardown, type AuditContext } from '../../actions/index.js';
import type { ProcKey } from '../../model/proc.js';
import type { Snapshot } from '../../model/snapshot.js';
import { readProcIdentity } from '../../probe/proc-stat.js';
import { uptimeTicks } from '../../probe/proc-sys.js';
import { createProcScanner } from '../../probe/snapshot.js';
import * as contain from '../containment.js';
import type { Containment, Member, RunScope, StageScope } from '../containment.js';
import type { Executor, ExecutorStage, StageExit, StageRequest, StartRecord, StartResult } from '../executor.js';
import { errText } from '../fs-error.js';
import { stageGroups, survivedOf } from '../layers/layer.js';
import { parseInitStatus } from '../layers/stage-init.js';
import type { RunPaths } from '../paths.js';
import { selfUid } from '../run-trust.js';

interface LocalStage extends ExecutorStage {
  readonly scope: StageScope;
  readonly child: ChildProcess;
  readonly leader: ProcKey | null;
  /** Settles when the output copied live (a driver) has all been copied. */
  readonly piped: Promise<void>;
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));

/**
 * Collects what the stage init reports on its status fd (a few bytes). The function it returns, called once
 * the leader exited, gives the report or, if the pipe has not closed within `ms`, null.
 */
function collectInitReport(stream: Readable): (ms: number) => Promise<string | null> {
  let text = '';
  let ended: boolean | null = false; // null: broken (too long, error)
  const waiters: Array<() => void> = [];
  const finish = (v: boolean | null): void => {
    ended = v;
    stream.removeAllListeners('data');
    stream.destroy();
    for (const w of waiters.splice(0)) w();
  };
  stream.on('data', (b: Buffer) => {
    text += b.toString('latin1');
    if (text.length > 32) finish(null);
  });
  stream.once('end', () => finish(true));
  stream.once('error', () => finish(null));
  return (ms) =>
    new Promise((resolve) => {
      const answer = (): void => resolve(ended === true ? text : null);
      if (ended !== false) return answer();
      const timer = setTimeout(() => {
        finish(null);
      }, ms);
      waiters.push(() => {
        clearTimeout(timer);
        answer();
      });
    });
}

/**
 * The stage's end: the leader's own, or, where the stage init ran (layers/stage-init.ts), the
 * command's wait status the init reported (PID 1 cannot die of a signal, so the leader alone
 * would say "exit 143" for a command killed by SIGTERM).
 */
async function stageEnd(code: number | null, signal: NodeJS.Signals | null, report: ((ms: number) => Promise<string | null>) | null): Promise<StageExit> {
  // The pipe closes when the init and unshare have exited, which the leader's exit says it has.
  const text = report ? await report(2000) : null;
  const s = text === null ? null : parseInitStatus(text);
  if (!s) return { code, signal, error: null };
  return { code: s.code, signal: s.signal === null ? null : SIGNAL_NAMES.get(s.signal) ?? null, error: null };
}

/**
 * Copies a driver's output to its log files and, live, to the caller. A log that cannot be
 * written any more (state disk full) is given up with one line; the live copy goes on.
 */
function teeOutput(out: Readable, err: Readable, outFd: number, errFd: number, live: NonNullable<StageRequest['passthrough']>, logs: string): Promise<void> {
  let logOk = true;
  const pump = (src: Readable, fd: number, show: (b: Buffer) => void): Promise<void> =>
    new Promise((resolve) => {
      src.on('data', (chunk: Buffer) => {
        show(chunk);
        if (!logOk) return;
        try {
          writeSync(fd, chunk);
        } catch (e) {
          logOk = false;
          live.stderr(Buffer.from(`reaper: cannot write the driver's log under ${logs} (${errText(e)}); output goes to the terminal only\n`));
        }
      });
      src.on('error', () => resolve());
      src.on('close', () => resolve());
    });
  return Promise.all([pump(out, outFd, (b) => live.stdout(b)), pump(err, errFd, (b) => live.stderr(b))]).then(() => {
    closeSync(outFd);
    closeSync(errFd);
  });
}

export interface LocalExecutorOptions {
  readonly containment: Containment;
  readonly runId: string;
  readonly state: string;
  readonly paths: RunPaths;
  /** The tasks' base environment (the guardian inherits it). */
  readonly env: NodeJS.ProcessEnv;
  readonly graceMs: number;
}

export function createLocalExecutor(opts: LocalExecutorOptions): Executor {
  const c = opts.containment;
  const { runId, paths, graceMs } = opts;
  const run: RunScope = { runId, state: opts.state, paths, env: opts.env, graceMs, owner: selfUid(), cgroup: null, guardian: null };
  const scanner = createProcScanner({ readFds: false });
  // Method parameters are bivariant: the launcher only hands back stages this executor started.
  const local = (s: ExecutorStage): LocalStage => s as LocalStage;
  // Every teardown signal goes to the audit log of the run's user (the launcher runs as that user).
  const auditLog = openAuditLog(process.env);
  const audit = (why: string, scope?: StageScope): AuditContext => ({
    asked: `teardown of run ${runId}${scope ? ` task ${scope.task} ${scope.stage}` : ''}: ${why}`,
    run: runId,
    ...(scope ? { task: `${scope.task} ${scope.stage}` } : {}),
    log: auditLog,
  });

  const taskMembers = async (task: number): Promise<ProcKey[]> => {
    try {
      const snap = await scanner.scan();
      return snap.processes.filter((p) => p.runId === runId && p.taskId === String(task)).map((p) => ({ pid: p.pid, startTime: p.startTime }));
    } catch {
      return [];
    }
  };

  return {
    async open(step) {
      contain.openRun(c, run, step);
      return { layers: c.layers.map((l) => ({ id: l.id, active: l.active, detail: l.detail })), cgroup: run.cgroup, guardian: run.guardian?.key ?? null };
    },

    async start(req): Promise<StartResult> {
      let outFd: number;
      let errFd: number;
      try {
        mkdirSync(req.outDir, { recursive: true, mode: 0o700 });
        outFd = openSync(req.logs.stdout, 'a', 0o600);
        try {
          errFd = openSync(req.logs.stderr, 'a', 0o600);
        } catch (e) {
          closeSync(outFd);
          throw e;
        }
      } catch (e) {
        // The state disk failed under the run (full, read-only): this stage cannot start, and a
        // run that cannot record itself is torn down.
        const why = `cannot write task logs under ${paths.logs} (${errText(e)})`;
        return { ok: false, detail: `cannot start: ${why}`, abortRun: why };
      }
      const fail = (e: unknown): StartResult => {
        closeSync(outFd);
        closeSync(errFd);
        return { ok: false, detail: `cannot start: ${(e as Error).message}`, abortRun: null };
      };
      const scope: StageScope = { task: req.task, stage: req.stage, attempt: req.attempt, pgid: 0, leaderStart: null, endedAtTicks: null, cgroup: null };
      let argv: string[];
      try {
        contain.openStage(c, run, scope);
        argv = contain.wrapArgv(c, req.argv, scope.cgroup);
      } catch (e) {
        return fail(e);
      }
      let child: ChildProcess;
      // stdin is /dev/null and the task has its own session (no controlling terminal): nothing it
      // starts can read or write a terminal, so nothing of it is ever stopped by SIGTTIN/SIGTTOU.
      const tee = req.passthrough;
      // The stage init reports the command's wait status on fd 3 (a pipe only it writes).
      const initReports = c.pidnsPrefix !== null && c.pidnsInit !== null;
      try {
        const io: ('ignore' | 'pipe' | number)[] = tee ? ['ignore', 'pipe', 'pipe'] : ['ignore', outFd, errFd];
        if (initReports) io.push('pipe');
        child = spawn(argv[0]!, argv.slice(1), { cwd: req.cwd, env: req.env, detached: true, stdio: io });
      } catch (e) {
        return fail(e);
      }
      const report = initReports && child.stdio[3] ? collectInitReport(child.stdio[3] as Readable) : null;
      let piped: Promise<void> = Promise.resolve();
      if (tee && child.stdout && child.stderr) piped = teeOutput(child.stdout, child.stderr, outFd, errFd, tee, paths.logs);
      else {
        closeSync(outFd);
        closeSync(errFd);
      }
      const exited = new Promise<StageExit>((resolve) => {
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => {
          // From now on the group's id is only held by its members: see RunGroup.
          scope.endedAtTicks = uptimeTicks();
          void stageEnd(code, signal, report).then(resolve);
        });
      });
      let record: StartRecord | null = null;
      let leader: ProcKey | null = null;
      if (child.pid !== undefined) {
        const id = readProcIdentity(child.pid);
        leader = { pid: child.pid, startTime: id?.startTime ?? 0 };
        scope.pgid = child.pid;
        scope.leaderStart = id?.startTime ?? null;
        record = { pid: child.pid, startTime: id?.startTime ?? null, pgid: child.pid, cgroup: scope.cgroup, argv };
      }
      const stage: LocalStage = { record, exited, scope, child, leader, piped };
      return { ok: true, stage };
    },

    async observe(watched) {
      // The layers hold some stages' members (a cgroup); the others, and escapees when no layer
      // holds every process, need a /proc scan.
      const held = new Map(watched.map((s) => [s, contain.stageMembers(local(s).scope)]));
      const sweepEscapees = !contain.holdsEveryProcess(c);
      let snap: Snapshot | null = null;
      if (sweepEscapees || [...held.values()].some((m) => m === null)) {
        try {
          snap = await scanner.scan();
        } catch {
          snap = null;
        }
      }
      return {
        members(s): Member[] | null {
          const h = held.get(s);
          if (h) return h;
          if (!snap) return null;
          const { task, pgid } = local(s).scope;
          return snap.processes.filter((p) => (p.runId === runId && p.taskId === String(task)) || (p.pgid === pgid && pgid > 1));
        },
        // Without a kernel layer, escapees of a finished stage (left the group, kept the marker)
        // are found here: marked processes of tasks that have no stage running are leftovers.
        async leftovers(busyTasks) {
          if (!snap || !sweepEscapees) return null;
          const busy = new Set([...busyTasks].map(String));
          // teardown keeps only the run's user's processes; filtering here too spares a teardown
          // (a /proc scan) on every watch for a foreign process that carries a forged marker.
          const orphans = snap.processes.filter((p) => p.runId === runId && p.uid === run.owner && p.state !== 'Z' && (p.taskId === null || !busy.has(p.taskId)));
          if (orphans.length === 0) return null;
          const res = await teardown({ roots: orphans.map((p) => ({ pid: p.pid, startTime: p.startTime })), mode: 'term', graceMs, owner: run.owner, audit: audit('escapees of finished stages') });
          return { found: res.length, survived: survivedOf(res), cgroupKilled: false };
        },
      };
    },

    async stop(s, mode, why) {
      const { scope, leader } = local(s);
      const roots = [...(leader ? [leader] : []), ...(await taskMembers(scope.task))];
      scope.audit = audit(why ?? 'stopped', scope);
      const res = await teardown({ roots, groups: stageGroups(run, scope), mode, graceMs, owner: run.owner, audit: scope.audit });
      let found = res.length;
      let survived = survivedOf(res);
      let cgroupKilled = false;
      for (const k of await contain.stopStage(scope)) {
        found += k.found;
        survived += k.survived;
        cgroupKilled ||= k.cgroupKilled;
      }
      return { found, survived, cgroupKilled };
    },

    stopAll(stages, mode, why) {
      const all = stages.map(local);
      const roots = all.flatMap((s) => (s.leader ? [s.leader] : []));
      const groups = all.flatMap((s) => stageGroups(run, s.scope));
      run.audit = audit(why ?? 'run torn down');
      return contain.stopRun(run, mode, () => teardown({ runId, roots, groups, mode, graceMs: mode === 'kill' ? 0 : graceMs, owner: run.owner, audit: run.audit! }));
    },

    afterExit(s) {
      const { scope } = local(s);
      scope.audit = audit('left behind after the stage exited', scope);
      return contain.afterStage(c, run, scope);
    },

    async finish(s) {
      const { scope, child, piped } = local(s);
      contain.closeStage(scope);
      // Everything of the stage is gone, so its pipes have closed: the last output is copied.
      // At most 2 s for the copy; the timer is cleared, or every stage would hold the process
      // open for 2 s after the run (measured: +1.5 s on a 200-task run).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([piped, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
    },

    close(mode) {
      run.audit = audit('final sweep at the end of the run');
      return contain.atRunEnd(run, mode);
    },

    release() {
      contain.closeRun(run);
    },
  };
}
