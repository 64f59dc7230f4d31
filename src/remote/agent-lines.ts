/**
 * Splits a byte stream into lines of at most `maxBytes`, without ever holding more than that:
 * a longer line is reported once as oversized (with how many bytes it had when given up) and
 * its bytes are dropped as they arrive, up to and including its newline. A 1 GB line from a
 * hostile host costs one error, not 1 GB.
 */

export interface LineSink {
  line(text: string): void;
  /** A line went past the cap; `bytes` counted so far (the rest is skipped unread). */
  oversized(bytes: number): void;
}

export interface LineSplitter {
  push(chunk: Buffer): void;
  /** End of stream: a last unterminated line still counts as a line. */
  end(): void;
  /** Bytes held for the current partial line (never more than the cap). */
  readonly held: number;
}

export function createLineSplitter(maxBytes: number, sink: LineSink): LineSplitter {
  let parts: Buffer[] = [];
  let held = 0;
  let skipping = false;

  const flush = (): void => {
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    parts = [];
    held = 0;
    sink.line(buf.toString('utf8'));
  };

  return {
    get held() {
      return held;
    },
    push(chunk: Buffer): void {
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const stop = nl === -1 ? chunk.length : nl;
        if (skipping) {
          if (nl === -1) return;
          skipping = false;
          start = nl + 1;
          continue;
        }
        const piece = stop - start;
        if (held + piece > maxBytes) {
          const total = held + piece;
          parts = [];
          held = 0;
          sink.oversized(total);
          if (nl === -1) {
            skipping = true;
            return;
          }
          start = nl + 1;
          continue;
        }
        if (piece > 0) {
          // Copy: the caller's chunk may be a pooled buffer reused after this call.
          parts.push(Buffer.from(chunk.subarray(start, stop)));
          held += piece;
        }
        if (nl === -1) return;
        flush();
        start = nl + 1;
      }
    },
    end(): void {
      if (!skipping && held > 0) flush();
      parts = [];
      held = 0;
      skipping = false;
    },
  };
}
