/**
 * The keymap is data (htop's Action_setBindings): key id → intent. The help screen is
 * generated from this table, and the reducer only sees intents.
 */

export type Intent =
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'tag'
  | 'tagLeftovers'
  | 'untagAll'
  | 'details'
  | 'closePane'
  | 'fold'
  | 'unfold'
  | 'toggleFold'
  | 'cycleGrouping'
  | 'leftoversOnly'
  | 'filter'
  | 'help'
  | 'resume'
  | 'kill'
  | 'terminate'
  | 'launch'
  | 'stopRun'
  | 'actionLog'
  | 'quit';

export interface Binding {
  readonly keys: readonly string[];
  readonly intent: Intent;
  readonly help: string;
  /** Acts on processes or runs: refused in --readonly. */
  readonly action?: boolean;
}

export const KEYMAP: readonly Binding[] = [
  { keys: ['up', 'k'], intent: 'up', help: 'move up' },
  { keys: ['down', 'j'], intent: 'down', help: 'move down' },
  { keys: ['pageup'], intent: 'pageUp', help: 'page up' },
  { keys: ['pagedown'], intent: 'pageDown', help: 'page down' },
  { keys: ['home'], intent: 'home', help: 'first row' },
  { keys: ['end'], intent: 'end', help: 'last row' },
  { keys: ['space'], intent: 'tag', help: 'tag / untag the process (and move down)' },
  { keys: ['a'], intent: 'tagLeftovers', help: 'tag every leftover shown' },
  { keys: ['u'], intent: 'untagAll', help: 'untag all' },
  { keys: ['enter'], intent: 'details', help: 'details: every reason, why stuck; a run: its history' },
  { keys: ['escape'], intent: 'closePane', help: 'close pane / clear filter' },
  { keys: ['left', '-'], intent: 'fold', help: 'fold the subtree' },
  { keys: ['right', '+'], intent: 'unfold', help: 'unfold the subtree' },
  { keys: ['tab'], intent: 'toggleFold', help: 'fold / unfold' },
  { keys: ['g'], intent: 'cycleGrouping', help: 'group by GPU / by run / all processes' },
  { keys: ['l'], intent: 'leftoversOnly', help: 'leftovers only on / off' },
  { keys: ['/'], intent: 'filter', help: 'filter (pid, user, command, run id)' },
  { keys: ['?', 'h'], intent: 'help', help: 'this help' },
  { keys: ['c'], intent: 'resume', help: 'resume: SIGCONT the tree (SIGTTIN/TTOU stops: fg or K instead)', action: true },
  { keys: ['K'], intent: 'kill', help: 'kill the tree: stop, rescan, SIGKILL, verify', action: true },
  { keys: ['T'], intent: 'terminate', help: 'terminate the tree: TERM+CONT, grace, KILL', action: true },
  { keys: ['L'], intent: 'launch', help: 'launch the batch (--batch FILE or ./reaper.yaml), detached', action: true },
  { keys: ['S'], intent: 'stopRun', help: 'stop the selected run', action: true },
  { keys: ['o'], intent: 'actionLog', help: "the last action's log: who, what, signal, outcome, why" },
  { keys: ['q', 'ctrl+c'], intent: 'quit', help: 'quit' },
];

const BY_KEY = new Map<string, Binding>();
for (const b of KEYMAP) for (const k of b.keys) BY_KEY.set(k, b);

export function bindingFor(keyId: string): Binding | undefined {
  return BY_KEY.get(keyId);
}

/** The subset of Ink's Key this module reads. */
export interface KeyLike {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** Ink's (input, key) → one key id ("up", "enter", "ctrl+c", "K", "space" …). Pure. */
export function keyId(input: string, key: KeyLike): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.tab) return 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl) return `ctrl+${input}`;
  if (input === ' ') return 'space';
  return input;
}

/**
 * Key ids of one input event. Keys typed faster than a frame (or over a slow SSH link) arrive
 * as one chunk ("jjj\r"), which Ink passes on as one string: split it into single keys. Pure.
 */
export function keyIds(input: string, key: KeyLike): string[] {
  const special =
    key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown || key.home || key.end || key.ctrl || key.escape;
  if (special || input.length <= 1) return [keyId(input, key)];
  const out: string[] = [];
  for (const ch of input) {
    if (ch === '\r' || ch === '\n') out.push('enter');
    else if (ch === '\t') out.push('tab');
    else if (ch === '\x7f' || ch === '\b') out.push('backspace');
    else if (ch === ' ') out.push('space');
    else if (ch === '\x1b') out.push('escape');
    else if (ch < ' ') out.push(`ctrl+${String.fromCharCode(ch.charCodeAt(0) + 96)}`);
    else out.push(ch);
  }
  return out;
}

/** What the marks in the process table mean (shown after the keys in the help). */
const LEGEND: readonly string[] = [
  `${'!'.padEnd(14)} a leftover (Enter: why)`,
  `${'*'.padEnd(14)} tagged`,
  `${'⊂'.padEnd(14)} inside reaper's wrappers (setpriv, cgroup, unshare), folded in`,
  `${'[+N]'.padEnd(14)} N processes folded under this one`,
];

/** Help lines, generated from the table. */
export function helpLines(): string[] {
  const show = (k: string): string => (k === 'space' ? 'Space' : k === 'enter' ? 'Enter' : k === 'escape' ? 'Esc' : k);
  return [...KEYMAP.map((b) => `${b.keys.map(show).join(' ').padEnd(14)} ${b.help}`), ...LEGEND];
}
