/**
 * What `reaper run` prints while a run goes on: a live progress line on a terminal, a line per
 * state change without one, or the journal events as JSON lines with --json. Writes never throw
 * (after SIGHUP the terminal is gone and the run must still tear down and finish).
 */
import type { JournalEvent, RunView } from '../../launch/index.js';
import { formatDuration } from '../../launch/index.js';
import { sanitizeText, toSafeJson } from '../../model/sanitize.js';

export interface ProgressSink {
  write(s: string): void;
  /** A child's output, copied as it is (bytes, no decoding). */
  writeBytes(b: Buffer | string): void;
  readonly isTTY: boolean;
  /** False once a write failed or the terminal hung up: nothing is written any more. */
  readonly alive: boolean;
  /** The terminal is gone (SIGHUP): stop writing to it, quietly. */
  hangUp(): void;
}

/**
 * A stream the run writes to without ever failing: the first write error (EIO after the SSH
 * connection dropped, EPIPE) ends all writing; the run goes on to tear down and record its end.
 */
export function safeSink(stream: NodeJS.WriteStream): ProgressSink {
  let alive = true;
  stream.on('error', () => {
    alive = false;
  });
  return {
    isTTY: !!stream.isTTY,
    get alive() {
      return alive;
    },
    hangUp() {
      if (stream.isTTY) alive = false;
    },
    write(s: string) {
      this.writeBytes(s);
    },
    writeBytes(b: Buffer | string) {
      if (!alive) return;
      try {
        if (!stream.destroyed && stream.writable) stream.write(b);
        else alive = false;
      } catch {
        alive = false;
      }
    },
  };
}

/** One JSON line of `run --json`: the shared serialiser (C1, DEL and bidi controls escaped). */
export function jsonLine(v: unknown): string {
  return toSafeJson(v);
}

function eventLine(e: JournalEvent, view: RunView): string | null {
  const at = `[${formatDuration(Math.max(0, e.t - view.startedAtMs)).padStart(5)}]`;
  switch (e.ev) {
    case 'run-start':
      return `${at} run ${e.run} (${sanitizeText(e.name)}): ${e.tasks.length} tasks × ${sanitizeText(e.stages.join(' → '))} on GPU ${sanitizeText(e.gpus.join(', '))}; batch ${sanitizeText(e.file)}`;
    case 'task-start':
      return `${at} gpu ${sanitizeText(e.gpu)} task ${e.task} ${sanitizeText(e.stage)}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''} started: ${e.job ? `Slurm job ${sanitizeText(e.job.id)}` : `pid ${e.pid}`}${e.cgroup ? ', own cgroup' : ''}`;
    case 'task-end':
      if (e.status === 'succeeded') return `${at} gpu ${sanitizeText(e.gpu)} task ${e.task} ${sanitizeText(e.stage)} done in ${formatDuration(e.durationMs)}`;
      return `${at} gpu ${sanitizeText(e.gpu)} task ${e.task} ${sanitizeText(e.stage)} ${e.status === 'cancelled' ? 'CANCELLED' : 'FAILED'}: ${sanitizeText(e.detail ?? e.reason)}${e.willRetry ? ' (will retry)' : ''}`;
    case 'task-skip':
      return `${at} task ${e.task} ${sanitizeText(e.stage)} ${sanitizeText(e.detail)}`;
    case 'task-stuck':
      return `${at} task ${e.task} ${sanitizeText(e.stage)}: pid ${e.pid} (${sanitizeText(e.cmd.slice(0, 60))}) in state ${e.state} for ${formatDuration(e.forMs)}${e.action === 'fail' ? ': failing the task' : ''}`;
    case 'sweep':
      return e.found > 0 ? `${at} ${sanitizeText(e.scope)}: tore down ${e.found} process(es)${e.cgroupKilled ? ' (cgroup.kill)' : ''}${e.survived ? `, ${e.survived} SURVIVED` : ''}` : null;
    case 'signal':
      return `${at} ${sanitizeText(e.signal)}: ${sanitizeText(e.action)}`;
    case 'run-end':
      return `${at} run ${e.state}${e.detail ? `: ${sanitizeText(e.detail)}` : ''}`;
  }
}

function progressLine(view: RunView): string {
  const el = formatDuration(Math.round((Date.now() - view.startedAtMs) / 100) * 100);
  const gpus = view.gpus.map((g) => `gpu${g.gpu} ${g.done}✓ ${g.running}▶ ${g.failed}✗`).join('  ');
  const pending = view.total - view.succeeded - view.failed;
  return `${el}  ${view.succeeded + view.failed}/${view.total} done (${view.failed} failed, ${view.running} running, ${Math.max(0, pending - view.running)} queued)  ${gpus}${view.interrupted ? `  ${view.interrupted}: tearing down…` : ''}`;
}

export interface ProgressRenderer {
  onEvent(e: JournalEvent, view: RunView): void;
  /** Clears the live line. */
  stop(): void;
}

/**
 * For `reaper run -- COMMAND` (on stderr, between the driver's own lines): where the run is, and
 * only what the driver cannot say itself (leftovers torn down, stuck members, signals).
 */
function driverEventLine(e: JournalEvent, view: RunView): string | null {
  switch (e.ev) {
    case 'task-start':
      return `reaper: run ${view.runId}: driver ${e.job ? `Slurm job ${sanitizeText(e.job.id)}` : `pid ${e.pid}`} started${e.cgroup ? ' in its own cgroup' : ''}; stop: reaper stop ${view.runId}`;
    case 'task-stuck':
    case 'signal':
    case 'sweep': {
      const l = eventLine(e, view);
      return l ? `reaper: ${l}` : null;
    }
    default:
      return null;
  }
}

export function createProgressRenderer(out: ProgressSink, mode: 'tty' | 'lines' | 'json' | 'driver'): ProgressRenderer {
  let view: RunView | null = null;
  let timer: NodeJS.Timeout | null = null;
  let shown = false;
  const redraw = (): void => {
    if (!view) return;
    const cols = Math.max(20, (process.stdout.columns || 100) - 1);
    out.write(`\r\x1b[K${progressLine(view).slice(0, cols)}`);
    shown = true;
  };
  return {
    onEvent(e, v) {
      view = v;
      if (mode === 'json') {
        out.write(jsonLine(e) + '\n');
        return;
      }
      if (mode === 'driver') {
        const l = driverEventLine(e, v);
        if (l) out.write(l + '\n');
        return;
      }
      if (mode === 'lines') {
        const l = eventLine(e, v);
        if (l) out.write(l + '\n');
        return;
      }
      // tty: notable events scroll above the live line
      const notable = e.ev === 'run-start' || e.ev === 'signal' || e.ev === 'task-stuck' || (e.ev === 'task-end' && e.status !== 'succeeded') || (e.ev === 'sweep' && e.found > 0);
      if (notable) {
        const l = eventLine(e, v);
        if (l) out.write(`\r\x1b[K${l}\n`);
      }
      if (e.ev === 'run-end') {
        this.stop();
        return;
      }
      redraw();
      if (!timer) {
        timer = setInterval(redraw, 500);
        timer.unref();
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (shown) out.write('\r\x1b[K');
      shown = false;
    },
  };
}
