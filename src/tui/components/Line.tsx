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

/**
 * One terminal line, never wrapped: Ink truncates it to the box width, and callers already
 * fit it to the column count. Empty lines render as one space so Ink keeps their height.
 */
export function Line({ segments, inverse }: { segments: readonly Segment[]; inverse?: boolean }): React.ReactElement {
  if (segments.length === 0 || segments.every((s) => s.text === '')) return <Text wrap="truncate-end"> </Text>;
  return (
    <Text wrap="truncate-end" inverse={inverse ?? false}>
      {segments.map((s, i) => (
        <Text key={i} color={s.color} bold={s.bold ?? false} dimColor={s.dim ?? false} inverse={s.inverse ?? false}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
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
