import React from 'react';
import { Text } from 'ink';
import type { Color } from '../theme.js';

export interface Segment {
  readonly text: string;
  readonly color?: Color | undefined;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly inverse?: boolean;
}

const SGR: Record<Color, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90 };

/**
 * One line as a single string with its own SGR codes. One Ink node per line instead of one per
 * coloured cell keeps a frame cheap (layout and reconciliation scale with nodes); colours are
 * already decided by the theme (none under NO_COLOR). Pure.
 */
export function lineText(segments: readonly Segment[], inverse = false): string {
  let out = '';
  for (const s of segments) {
    if (s.text === '') continue;
    const codes: number[] = [];
    if (inverse || s.inverse) codes.push(7);
    if (s.bold) codes.push(1);
    if (s.dim) codes.push(2);
    if (s.color) codes.push(SGR[s.color]);
    out += codes.length > 0 ? `\x1b[${codes.join(';')}m${s.text}\x1b[0m` : s.text;
  }
  return out;
}

/**
 * One terminal line, never wrapped: Ink truncates it to the box width, and callers already
 * fit it to the column count. Empty lines render as one space so Ink keeps their height.
 */
export function Line({ segments, inverse }: { segments: readonly Segment[]; inverse?: boolean }): React.ReactElement {
  const text = lineText(segments, inverse ?? false);
  return <Text wrap="truncate-end">{text === '' ? ' ' : text}</Text>;
}

export function seg(text: string, color?: Color, extra?: Omit<Segment, 'text' | 'color'>): Segment {
  return { text, color, ...extra };
}

/** Total width of segments. */
export function segWidth(segments: readonly Segment[]): number {
  return segments.reduce((n, s) => n + s.text.length, 0);
}

/** Cut a list of segments to `width` columns (keeping colours), pad with nothing. */
export function clipSegments(segments: readonly Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let left = width;
  for (const s of segments) {
    if (left <= 0) break;
    if (s.text.length <= left) {
      out.push(s);
      left -= s.text.length;
    } else {
      out.push({ ...s, text: left > 1 ? s.text.slice(0, left - 1) + '…' : '…' });
      left = 0;
    }
  }
  return out;
}
