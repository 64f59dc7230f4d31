import React from 'react';
import { Box } from 'ink';
import { sanitizeText } from '../../model/index.js';
import { scopeText } from '../../analysis/index.js';
import { fit, fitLeft } from '../format.js';
import { helpLines } from '../keymap.js';
import { wrapText } from '../layout.js';
import type { LastAction, Message, Pending } from '../state.js';
import type { AuditRead } from '../types.js';
import { ACTION_VERB } from '../targets.js';
import type { Theme } from '../theme.js';
import { useTheme } from '../theme-context.js';
import { Line, clipSegments, seg, type Segment } from './Line.js';

/**
 * The one confirmation: what will be hit (count, pid(user), command), or the run/batch concerned.
 * Warnings (a resume that cannot help) come first, wrapped to `width`, with the better choice.
 */
export function confirmLines(p: Pending, height: number, t: Theme, width = 100): Segment[][] {
  const lines: Segment[][] = [];
  const yes = seg('   y/Enter = yes, n/Esc = no', t.dim);
  if (p.kind === 'launch') {
    lines.push([seg(`Launch ${sanitizeText(p.batchFile)} as a detached run?`, t.tagged, { bold: true }), yes]);
    lines.push([seg('It keeps running when this screen closes or SSH drops; S stops it.', t.dim)]);
    return lines;
  }
  if (p.kind === 'stop') {
    lines.push([seg(`Stop run ${sanitizeText(p.runId)} ${p.label}: tear down every process of the run?`, t.tagged, { bold: true }), yes]);
    return lines;
  }
  const n = p.targets.length;
  const warned = p.action === 'cont' && p.warnings.length > 0;
  for (const w of p.warnings) for (const l of wrapText(sanitizeText(w), Math.max(20, width))) lines.push([seg(l, t.error, { bold: true })]);
  const question = seg(`${warned ? 'Resume anyway (SIGCONT)' : ACTION_VERB[p.action]}: ${n} process${n === 1 ? '' : 'es'}?`, p.action === 'cont' && !warned ? t.ok : t.error, { bold: true });
  if (warned) lines.push([question], [seg('y = resume anyway, K = kill instead, n/Esc = no', t.tagged, { bold: true })]);
  else lines.push([question, yes]);
  // The promise the executor keeps (src/actions/execute.ts): descendants found while acting, nothing else.
  if (p.action !== 'cont' && n > 0) for (const l of wrapText(`It ${scopeText(p.action, n)}.`, Math.max(20, width))) lines.push([seg(l, t.dim)]);
  const skippedLines = p.skipped.length > 0 ? 1 : 0;
  const room = Math.max(1, height - lines.length - skippedLines);
  const show = n > room ? room - 1 : n;
  for (const x of p.targets.slice(0, Math.max(0, show))) {
    lines.push([
      seg((x.host !== undefined ? `${sanitizeText(x.host)}:${x.pid}` : fitLeft(String(x.pid), 7)) + '(' + sanitizeText(x.user ?? String(x.uid ?? '?')) + ') '),
      seg(fit(x.stat, 5) + ' ', t.stat(x.stat)),
      seg(x.cmd, x.reasons.length > 0 ? t.leftover : undefined),
      seg(x.reasons.length > 0 ? `  [${x.reasons.map((r) => r.code).join(',')}]` : '', t.dim),
    ]);
  }
  if (show < n) lines.push([seg(`   … and ${n - show} more`, t.dim)]);
  if (p.skipped.length > 0) {
    const s = p.skipped.slice(0, 3).map((x) => `${x.host !== undefined ? `${sanitizeText(x.host)}:` : ''}${x.pid}(${sanitizeText(x.user ?? '?')}): ${sanitizeText(x.why)}`).join('; ');
    lines.push([seg(`skipped ${p.skipped.length} protected: ${s}${p.skipped.length > 3 ? ' …' : ''}`, t.dim)]);
  }
  return lines;
}

/** An action's result, wrapped so every word of it can be read; any key closes it. */
export function resultLines(m: Message, width: number, height: number, t: Theme): Segment[][] {
  const color = m.tone === 'error' ? t.error : m.tone === 'ok' ? t.ok : undefined;
  const body = wrapText(sanitizeText(m.text), Math.max(10, width));
  const room = Math.max(1, height - 1);
  const shown = body.length > room ? [...body.slice(0, room - 1), `… ${body.length - room + 1} more lines (a larger terminal shows them)`] : body;
  return [[seg('Result', t.header, { bold: true }), seg('   (any key closes)', t.dim)], ...shown.map((l) => [seg(l, color, { bold: m.tone !== 'info' })])];
}

const KEY_WORD: Record<LastAction['key'], string> = { K: 'kill', T: 'terminate', c: 'resume', S: 'stop' };

/** The line under the table: what the last action did, and the key that opens its log. Pure. */
export function lastActionLine(a: LastAction, t: Theme): Segment[] {
  const color = a.tone === 'error' ? t.error : a.tone === 'ok' ? t.ok : undefined;
  return [seg('last action: ', t.dim), seg(`${a.key} `, t.accent, { bold: true }), seg(sanitizeText(a.text), color), seg('  · o: its log', t.dim)];
}

function clock(ms: number): string {
  // UTC, as `reaper log` prints it.
  return new Date(ms).toISOString().slice(11, 19) + 'Z';
}

/**
 * The last action's audit entries (o): for each, when, who asked and what, the process or job
 * (pid(user) command), the signal, the outcome and the reasons; other hosts' entries are in their
 * own logs. `read` null: this screen has no reader. Every text is sanitised again here. Pure.
 */
export function auditLines(a: LastAction, read: AuditRead | null, height: number, t: Theme): Segment[][] {
  const out: Segment[][] = [[seg(`Log of the last action: ${a.key} (${KEY_WORD[a.key]})`, t.header, { bold: true }), seg('   (any key closes; `reaper log` has every entry)', t.dim)]];
  const body: Segment[][] = [];
  for (const h of a.remoteHosts) body.push([seg(`${sanitizeText(h)}: the log is on that host (\`reaper log\` there)`, t.dim)]);
  if (a.query) {
    if (!read) body.push([seg('this screen cannot read the audit log: `reaper log` shows it', t.dim)]);
    else {
      for (const p of read.problems) body.push([seg(sanitizeText(p), t.error)]);
      if (read.entries.length === 0) body.push([seg(read.sources.length === 0 ? 'no audit log yet (nothing recorded on this machine)' : 'no entries of it in the audit log (yet)', t.dim)]);
      for (const e of read.entries) {
        const head = `${clock(e.atMs)}  ${e.who}  [${e.asked}]  ${e.target}  ${e.signal}  `;
        body.push([seg(sanitizeText(head)), seg(sanitizeText(e.outcome), e.bad ? t.error : t.ok, { bold: true })]);
        body.push([seg(`    ${sanitizeText(e.cmd)}`), seg(`   reasons: ${e.reasons.length > 0 ? e.reasons.map(sanitizeText).join(', ') : '-'}`, t.dim)]);
      }
      if (read.skipped > 0) body.push([seg(`${read.skipped} log line${read.skipped === 1 ? '' : 's'} not of reaper's shape: skipped, trusted for nothing (\`reaper log\` names them)`, t.dim)]);
    }
  }
  const room = Math.max(1, height - 1);
  // The newest entries matter most: when they do not fit, the oldest give way.
  const shown = body.length > room ? [[seg(`… ${body.length - room + 1} earlier lines (a larger terminal or \`reaper log\` shows them)`, t.dim)], ...body.slice(body.length - room + 1)] : body;
  return [...out, ...shown];
}

export function Block({ lines, width, height }: { lines: readonly Segment[][]; width: number; height: number }): React.ReactElement | null {
  if (height <= 0) return null;
  const shown = lines.slice(0, height);
  const pad: React.ReactElement[] = [];
  for (let i = shown.length; i < height; i++) pad.push(<Line key={`pad${i}`} segments={[]} />);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Line key={i} segments={clipSegments(l, width)} />
      ))}
      {pad}
    </Box>
  );
}

/** How the help's lines are laid out at this size: one or two columns, and the pages that takes. Pure. */
function helpLayout(width: number, height: number): { room: number; twoColumns: boolean; pages: number } {
  const items = helpLines().length;
  const room = Math.max(1, height - 1);
  const twoColumns = items > room && width >= 100;
  const perPage = twoColumns ? room * 2 : room;
  return { room, twoColumns, pages: Math.max(1, Math.ceil(items / perPage)) };
}

export function helpPageCount(width: number, height: number): number {
  return helpLayout(width, height).pages;
}

/** Help generated from the keymap table, in two columns when the screen is short and wide, else in pages. */
export function helpScreenLines(width: number, height: number, t: Theme, page = 0): Segment[][] {
  const items = helpLines();
  const { room, twoColumns, pages } = helpLayout(width, height);
  const p = Math.min(Math.max(0, page), pages - 1);
  const more = pages > 1 ? `   page ${p + 1}/${pages}: ${p + 1 < pages ? 'Space for more, any other key closes' : 'any key closes'}` : '   (any key closes this help)';
  const title: Segment[] = [seg('reaper keys', t.header, { bold: true }), seg(more, t.dim)];
  const out: Segment[][] = [title];
  if (!twoColumns) {
    for (const l of items.slice(p * room, (p + 1) * room)) out.push([seg(l)]);
    return out;
  }
  const chunk = items.slice(p * room * 2, (p + 1) * room * 2);
  const colW = Math.floor(width / 2);
  const half = Math.ceil(chunk.length / 2);
  for (let i = 0; i < half; i++) out.push([seg(fit(chunk[i]!, colW - 1) + ' '), seg(chunk[i + half] ?? '')]);
  return out;
}

export interface StatusLineProps {
  readonly width: number;
  readonly filterDraft: string | null;
  readonly busy: string | null;
  readonly message: Message | null;
  readonly readonly: boolean;
}

const HINTS = {
  full: 'space tag  a tag leftovers  K kill  T term  c resume  L launch  S stop  Enter details  / filter  g group  ? help  q quit',
  short: 'spc tag a leftovers K kill T term c cont L launch S stop ? help q quit',
  readonly: 'j/k move  Enter details  / filter  l leftovers  g group  ? help  q quit  (read-only)',
  readonlyShort: 'Enter details / filter l leftovers ? help q quit (read-only)',
};

/** The key hints that fit: on a narrow terminal "? help" and "q quit" must stay visible. Pure. */
export function keyHints(readonly: boolean, width: number): string {
  const full = readonly ? HINTS.readonly : HINTS.full;
  if (full.length <= width) return full;
  return readonly ? HINTS.readonlyShort : HINTS.short;
}

export function StatusLine(p: StatusLineProps): React.ReactElement {
  const t = useTheme();
  let segs: Segment[];
  if (p.filterDraft !== null) segs = [seg('filter: /', t.accent, { bold: true }), seg(sanitizeText(p.filterDraft) + '_'), seg('   Enter apply, Esc clear', t.dim)];
  else if (p.busy) segs = [seg(sanitizeText(p.busy), t.tagged, { bold: true })];
  else if (p.message) segs = [seg(sanitizeText(p.message.text), p.message.tone === 'error' ? t.error : p.message.tone === 'ok' ? t.ok : undefined, { bold: p.message.tone !== 'info' })];
  else segs = [seg(keyHints(p.readonly, p.width), t.dim)];
  return <Line segments={clipSegments(segs, p.width)} />;
}
