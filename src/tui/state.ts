/**
 * The UI state and its one pure transition: (state, key, context) → (state, effect?).
 * Effects (quit, signal, launch, stop) are carried out by the root component through the
 * actions object; nothing here does I/O.
 */
import type { RunSummary, Snapshot, Verdict } from '../model/index.js';
import { sanitizeText } from '../model/index.js';

;
import { bindingFor, type Intent } from './keymap.js';
import { GROUPINGS, hostKey, rowTagKey, rowTarget, type Grouping, type Row } from './rows.js';
import { resumeWarnings, terminalStops } from './resume-advice.js';
import { captureTargets, hostSelectionRoots, selectionRoots, type HostProcKey, type SkippedTarget } from './targets.js';
import type { ActionTarget, AuditQuery, SignalAction } from './types.js';

export type Pending =
  | {
      readonly kind: 'signal';
      readonly action: SignalAction;
      readonly targets: readonly ActionTarget[];
      readonly skipped: readonly SkippedTarget[];
      /** What the user pointed at (tagged or selected), to offer another action on the same processes. */
      readonly roots: readonly HostProcKey[];
      /** Said before the question (resume: the group stops again, what works instead). */
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'launch'; readonly batchFile: string }
  | { readonly kind: 'stop'; readonly runId: string; readonly label: string };

export type Effect =
  | { readonly kind: 'quit' }
  | { readonly kind: 'signal'; readonly action: SignalAction; readonly targets: readonly ActionTarget[] }
  | { readonly kind: 'launch' }
  | { readonly kind: 'stop'; readonly runId: string };

export interface Message {
  readonly text: string;
  readonly tone: 'info' | 'ok' | 'error';
}

/**
 * The screen's last signalling action (K, T, c or S) and where its audit entries are: the line
 * under the table says what became of it, and `o` opens its entries.
 */
export interface LastAction {
  /** The key that asked. */
  readonly key: 'K' | 'T' | 'c' | 'S';
  /** "3 processes: 2 gone, 1 survived (…)" or "run ID: torn down by the launcher, 0 survivors". */
  readonly text: string;
  readonly tone: Message['tone'];
  /** This machine's entries of it; null when it acted on other hosts only. */
  readonly query: AuditQuery | null;
  /** Other hosts it acted on: their entries are in their own logs. */
  readonly remoteHosts: readonly string[];
}

export interface UiState {
  readonly grouping: Grouping;
  readonly filter: string;
  /** Non-null while the filter is being typed (applied live). */
  readonly filterDraft: string | null;
  readonly leftoversOnly: boolean;
  readonly folded: ReadonlySet<string>;
  readonly cursorKey: string | null;
  readonly cursorIndex: number;
  /** Tagged identities, "pid:startTime" (several hosts: "host|pid:startTime") → identity. */
  readonly tagged: ReadonlyMap<string, HostProcKey>;
  readonly details: boolean;
  readonly help: boolean;
  /** Page of the help shown (a short terminal needs more than one). */
  readonly helpPage: number;
  readonly confirm: Pending | null;
  readonly message: Message | null;
  /** An action in flight ("kill 3 processes …"); new actions wait for it. */
  readonly busy: string | null;
  /** An action's result too long for the status line, shown whole until a key is pressed. */
  readonly result: Message | null;
  /** The last signalling action of this screen (the line under the table). */
  readonly lastAction: LastAction | null;
  /** The last action's audit entries are shown (any key closes). */
  readonly auditOpen: boolean;
}

export function initialState(grouping: Grouping = 'gpu'): UiState {
  return {
    grouping,
    filter: '',
    filterDraft: null,
    leftoversOnly: false,
    folded: new Set(),
    cursorKey: null,
    cursorIndex: 0,
    tagged: new Map(),
    details: false,
    help: false,
    helpPage: 0,
    confirm: null,
    message: null,
    busy: null,
    result: null,
    lastAction: null,
    auditOpen: false,
  };
}

export interface KeyContext {
  readonly rows: readonly Row[];
  readonly snapshot: Snapshot | null;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly runs: readonly RunSummary[];
  /** --all: other users' processes may be acted on (the kernel still decides). */
  readonly allUsers: boolean;
  /** Rows visible in the tree viewport (PgUp/PgDn step). */
  readonly pageSize: number;
  readonly readonly: boolean;
  readonly batchFile: string | null;
  /** Pages the help screen has at this terminal size (default 1). */
  readonly helpPages?: number;
  /**
   * Several-host screen: each host's data by name. Actions are planned per host on that host's
   * snapshot; snapshot/verdicts/runs above are then this machine's (or empty).
   */
  readonly hosts?: ReadonlyMap<string, HostKeyData>;
}

export interface HostKeyData {
  readonly local: boolean;
  readonly snapshot: Snapshot | null;
  readonly verdicts: ReadonlyMap<number, Verdict>;
  readonly runs: readonly RunSummary[];
}

export interface Transition {
  readonly state: UiState;
  readonly effect?: Effect;
}

/** Where the cursor is in `rows`: the row with the remembered key, else the remembered index, clamped. */
export function cursorIndexIn(state: UiState, rows: readonly Row[]): number {
  if (rows.length === 0) return 0;
  if (state.cursorKey !== null) {
    const i = rows.findIndex((r) => r.key === state.cursorKey);
    if (i >= 0) return i;
  }
  return Math.max(0, Math.min(rows.length - 1, state.cursorIndex));
}

/** The filter currently applied (the draft while typing). */
export function activeFilter(state: UiState): string {
  return state.filterDraft ?? state.filter;
}

function moveTo(state: UiState, rows: readonly Row[], index: number): UiState {
  if (rows.length === 0) return { ...state, cursorIndex: 0, cursorKey: null };
  const i = Math.max(0, Math.min(rows.length - 1, index));
  return { ...state, cursorIndex: i, cursorKey: rows[i]!.key };
}

function info(state: UiState, text: string, tone: Message['tone'] = 'info'): UiState {
  return { ...state, message: { text, tone } };
}

/** Run id the cursor points at (a run group row or a process carrying REAPER_RUN), else the only live run. */
function selectedRunId(row: Row | undefined, runs: readonly RunSummary[]): string | null {
  if (row?.kind === 'group' && row.runId) return row.runId;
  if (row?.kind === 'proc' && row.proc.runId) return row.proc.runId;
  const live = runs.filter((r) => r.live);
  return live.length === 1 ? live[0]!.id : null;
}

export function handleKey(state: UiState, key: string, ctx: KeyContext): Transition {
  if (key === 'ctrl+c') return { state, effect: { kind: 'quit' } };
  // Modal layers first: a result being read, the confirmation, the filter prompt, the help screen.
  if (state.result) return { state: { ...state, result: null } };
  if (state.auditOpen) return { state: { ...state, auditOpen: false } };
  if (state.confirm) return handleConfirm(state, key, ctx);
  if (state.filterDraft !== null) return { state: handleFilterKey(state, key) };
  if (state.help) {
    // Space / PgDn / j / down turn the page while there is one; any other key closes the help.
    const next = state.helpPage + 1;
    if ((key === 'space' || key === 'pagedown' || key === 'down' || key === 'j') && next < (ctx.helpPages ?? 1)) return { state: { ...state, helpPage: next } };
    return { state: { ...state, help: false, helpPage: 0 } };
  }
  const b = bindingFor(key);
  if (!b) return { state };
  if (b.action && ctx.readonly) return { state: info(state, 'read-only mode (--readonly): actions are disabled', 'error') };
  return handleIntent(state, b.intent, ctx);
}

function handleConfirm(state: UiState, key: string, ctx: KeyContext): Transition {
  const p = state.confirm!;
  if (p.kind === 'signal' && p.action === 'cont' && p.warnings.length > 0 && key === 'K' && !ctx.readonly) {
    // The resume dialog offered kill instead: the same processes, planned again as a kill.
    return { state: signalConfirm(state, 'kill', p.roots, ctx) };
  }
  if (key === 'y' || key === 'Y' || key === 'enter') {
    const cleared: UiState = { ...state, confirm: null };
    switch (p.kind) {
      case 'signal':
        return {
          state: { ...cleared, busy: `${p.action} ${p.targets.length} process${p.targets.length === 1 ? '' : 'es'}…`, tagged: new Map() },
          effect: { kind: 'signal', action: p.action, targets: p.targets },
        };
      case 'launch':
        return { state: { ...cleared, busy: `launching ${p.batchFile}…` }, effect: { kind: 'launch' } };
      case 'stop':
        return { state: { ...cleared, busy: `stopping run ${p.runId}…` }, effect: { kind: 'stop', runId: p.runId } };
    }
  }
  if (key === 'n' || key === 'N' || key === 'escape' || key === 'q' || key === 'ctrl+c') {
    return { state: info({ ...state, confirm: null }, 'cancelled') };
  }
  return { state };
}

/** The confirmation of a signal action on these roots' trees, or a message saying why there is nothing to do. */
function signalConfirm(state: UiState, action: SignalAction, roots: readonly HostProcKey[], ctx: KeyContext): UiState {
  let targets: ActionTarget[] = [];
  let skipped: SkippedTarget[] = [];
  let warnings: string[] = [];
  if (ctx.hosts) {
    // Each host's roots planned on that host's own snapshot; every target keeps its host.
    const byHost = new Map<string, HostProcKey[]>();
    for (const r of roots) {
      const h = r.host ?? '';
      let l = byHost.get(h);
      if (!l) byHost.set(h, (l = []));
      l.push(r);
    }
    for (const [host, list] of byHost) {
      const d = ctx.hosts.get(host);
      if (!d?.snapshot) continue;
      const c = captureTargets(d.snapshot, d.verdicts, list, action, ctx.allUsers);
      targets.push(...c.targets.map((t) => ({ ...t, host })));
      skipped.push(...c.skipped.map((x) => ({ ...x, host })));
      if (action === 'cont') warnings.push(...resumeWarnings(terminalStops(c.targets, d.verdicts), d.snapshot).map((w) => `${host}: ${w}`));
    }
  } else {
    if (!ctx.snapshot) return info(state, 'no snapshot yet', 'error');
    const c = captureTargets(ctx.snapshot, ctx.verdicts, roots, action, ctx.allUsers);
    targets = [...c.targets];
    skipped = [...c.skipped];
    warnings = action === 'cont' ? resumeWarnings(terminalStops(c.targets, ctx.verdicts), ctx.snapshot) : [];
  }
  if (targets.length === 0) {
    const why = skipped.length > 0 ? `${skipped.length} protected (${skipped[0]!.host ? `${skipped[0]!.host}:` : ''}${skipped[0]!.pid}: ${sanitizeText(skipped[0]!.why)})` : 'select a process or tag some (space, a)';
    return info({ ...state, confirm: null }, `nothing to ${action}: ${why}`, 'error');
  }
  return { ...state, confirm: { kind: 'signal', action, targets, skipped, roots: [...roots], warnings }, message: null };
}

function handleFilterKey(state: UiState, key: string): UiState {
  const draft = state.filterDraft ?? '';
  if (key === 'enter') return { ...state, filter: draft, filterDraft: null };
  if (key === 'escape') return { ...state, filter: '', filterDraft: null };
  if (key === 'backspace') return { ...state, filterDraft: draft.slice(0, -1) };
  if (key === 'space') return { ...state, filterDraft: draft + ' ' };
  // One printable character (key ids of special keys are longer words).
  if (key.length === 1 && key >= ' ' && key !== '\x7f') return { ...state, filterDraft: draft + key };
  return state;
}

function handleIntent(state: UiState, intent: Intent, ctx: KeyContext): Transition {
  const { rows } = ctx;
  const idx = cursorIndexIn(state, rows);
  const row = rows[idx];
  const page = Math.max(1, ctx.pageSize);
  switch (intent) {
    case 'up':
      return { state: moveTo(state, rows, idx - 1) };
    case 'down':
      return { state: moveTo(state, rows, idx + 1) };
    case 'pageUp':
      return { state: moveTo(state, rows, idx - page) };
    case 'pageDown':
      return { state: moveTo(state, rows, idx + page) };
    case 'home':
      return { state: moveTo(state, rows, 0) };
    case 'end':
      return { state: moveTo(state, rows, rows.length - 1) };
    case 'tag': {
      if (row?.kind !== 'proc') return { state: moveTo(state, rows, idx + 1) };
      const target = rowTarget(row);
      const k = rowTagKey(row);
      const tagged = new Map(state.tagged);
      if (tagged.has(k)) tagged.delete(k);
      else tagged.set(k, { pid: target.pid, startTime: target.startTime, ...(row.host !== undefined ? { host: row.host } : {}) });
      return { state: moveTo({ ...state, tagged }, rows, idx + 1) };
    }
    case 'tagLeftovers': {
      const tagged = new Map(state.tagged);
      let n = 0;
      for (const r of rows) {
        // Context rows (ancestors shown only for the tree's shape) are not "shown leftovers".
        if (r.kind !== 'proc' || !r.leftover || r.context) continue;
        const target = rowTarget(r);
        const k = rowTagKey(r);
        if (!tagged.has(k)) n++;
        tagged.set(k, { pid: target.pid, startTime: target.startTime, ...(r.host !== undefined ? { host: r.host } : {}) });
      }
      return { state: info({ ...state, tagged }, n === 0 ? 'no leftovers to tag' : `tagged ${n} leftover${n === 1 ? '' : 's'} (${tagged.size} tagged)`) };
    }
    case 'untagAll':
      return { state: info({ ...state, tagged: new Map() }, 'untagged all') };
    case 'details':
      return { state: { ...state, details: !state.details } };
    case 'closePane':
      if (state.details) return { state: { ...state, details: false } };
      if (state.filter !== '') return { state: { ...state, filter: '' } };
      return { state: { ...state, message: null } };
    case 'fold':
    case 'unfold':
    case 'toggleFold': {
      if (row?.kind !== 'proc') return { state };
      const k = hostKey(row.host, row.proc);
      const folded = new Set(state.folded);
      const fold = intent === 'fold' ? true : intent === 'unfold' ? false : !folded.has(k);
      if (fold && !row.hasChildren) {
        // Like a file tree: folding a leaf jumps to its parent row.
        for (let i = idx - 1; i >= 0; i--) {
          const r = rows[i]!;
          if (r.kind === 'proc' && r.groupKey === row.groupKey && r.depth < row.depth) return { state: moveTo(state, rows, i) };
        }
        return { state };
      }
      if (fold) folded.add(k);
      else folded.delete(k);
      return { state: { ...state, folded } };
    }
    case 'cycleGrouping': {
      const next = GROUPINGS[(GROUPINGS.indexOf(state.grouping) + 1) % GROUPINGS.length]!;
      return { state: { ...state, grouping: next, cursorIndex: 0 } };
    }
    case 'leftoversOnly':
      return { state: { ...state, leftoversOnly: !state.leftoversOnly } };
    case 'filter':
      return { state: { ...state, filterDraft: state.filter } };
    case 'help':
      return { state: { ...state, help: true, helpPage: 0 } };
    case 'quit':
      return { state, effect: { kind: 'quit' } };
    case 'actionLog':
      if (!state.lastAction) return { state: info(state, 'no action yet on this screen: `reaper log` lists earlier ones', 'error') };
      return { state: { ...state, auditOpen: true } };
    case 'resume':
    case 'kill':
    case 'terminate': {
      if (state.busy) return { state: info(state, `busy: ${state.busy}`, 'error') };
      const action: SignalAction = intent === 'resume' ? 'cont' : intent === 'kill' ? 'kill' : 'term';
      if (ctx.hosts) return { state: signalConfirm(state, action, hostSelectionRoots(ctx.hosts, state.tagged, row), ctx) };
      if (!ctx.snapshot) return { state: info(state, 'no snapshot yet', 'error') };
      return { state: signalConfirm(state, action, selectionRoots(ctx.snapshot, state.tagged, row), ctx) };
    }
    case 'launch': {
      if (state.busy) return { state: info(state, `busy: ${state.busy}`, 'error') };
      const remote = remoteHostOf(row, ctx);
      if (remote !== null) return { state: info(state, `L on ${sanitizeText(remote)}: launching on another host is not supported yet`, 'error') };
      if (!ctx.batchFile) return { state: info(state, 'no batch to launch: start with --batch FILE or create ./reaper.yaml', 'error') };
      return { state: { ...state, confirm: { kind: 'launch', batchFile: ctx.batchFile }, message: null } };
    }
    case 'stopRun': {
      if (state.busy) return { state: info(state, `busy: ${state.busy}`, 'error') };
      const remote = remoteHostOf(row, ctx);
      if (remote !== null) return { state: info(state, `S on ${sanitizeText(remote)}: stopping a run on another host is not supported yet`, 'error') };
      const runId = selectedRunId(row, ctx.runs);
      if (!runId) return { state: info(state, 'no run selected: move to a run (g groups by run)', 'error') };
      const run = ctx.runs.find((r) => r.id === runId);
      const label = run ? `${sanitizeText(run.name)} (${run.state})` : 'no record';
      return { state: { ...state, confirm: { kind: 'stop', runId, label }, message: null } };
    }
  }
}

/**
 * Several-host screen: the remote host the cursor is on (L and S act on this machine only), or
 * "another host" when this machine is not on the screen; null where this machine is meant.
 */
function remoteHostOf(row: Row | undefined, ctx: KeyContext): string | null {
  if (!ctx.hosts) return null;
  if (row?.host !== undefined) return ctx.hosts.get(row.host)?.local ? null : row.host;
  for (const d of ctx.hosts.values()) if (d.local) return null;
  return 'another host';
}
