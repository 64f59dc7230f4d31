/**
 * Pure: how many lines each part of the screen gets. The frame is always exactly
 * `rows - 1` lines: Ink clears the whole screen and the scrollback on every frame once its
 * output is as tall as the terminal, so reaper never lets it get there.
 */

export interface LayoutInput {
  readonly rows: number;
  readonly gpuLines: number;
  readonly jobLines: number;
  /** Lines the details pane wants (0 when closed). */
  readonly detailLines: number;
  /** Most of the free lines the details pane may take when it wants them (default 0.4). */
  readonly detailShare?: number;
  /** The last action's line is shown (one line above the status line). */
  readonly actionLine?: boolean;
}

export interface Layout {
  readonly header: number;
  readonly gpu: number;
  readonly jobs: number;
  readonly tableHeader: number;
  readonly tree: number;
  readonly details: number;
  /** The last action's line: 0 or 1. */
  readonly action: number;
  readonly status: number;
  readonly total: number;
}

const HEADER_LINES = 2;
const MIN_TREE_LINES = 3;

export function planLayout(inp: LayoutInput): Layout {
  const total = Math.max(1, inp.rows - 1);
  const fixed = HEADER_LINES + 1 /* table header */ + 1; /* status */
  // The last action's line only where the tree keeps its minimum.
  const action = inp.actionLine && total - fixed > MIN_TREE_LINES ? 1 : 0;
  let free = Math.max(0, total - fixed - action);
  let gpu = Math.min(inp.gpuLines, Math.max(1, Math.floor(free * 0.3)));
  let jobs = Math.min(inp.jobLines, Math.max(1, Math.floor(free * 0.22)));
  let details = inp.detailLines > 0 ? Math.min(inp.detailLines, Math.max(4, Math.floor(free * (inp.detailShare ?? 0.4)))) : 0;
  // Give the tree at least a few rows: shrink jobs, then details, then the GPU table.
  const need = (): number => gpu + jobs + details + MIN_TREE_LINES - free;
  while (need() > 0 && jobs > 0) jobs--;
  while (need() > 0 && details > 0) details--;
  while (need() > 0 && gpu > 0) gpu--;
  const tree = Math.max(0, free - gpu - jobs - details);
  if (total < fixed) {
    // A tiny terminal: header and status only, as much as fits.
    return { header: Math.min(HEADER_LINES, total), gpu: 0, jobs: 0, tableHeader: 0, tree: 0, details: 0, action: 0, status: total > HEADER_LINES ? 1 : 0, total };
  }
  free = gpu + jobs + details + tree;
  return { header: HEADER_LINES, gpu, jobs, tableHeader: 1, tree, details, action, status: 1, total: HEADER_LINES + 1 + 1 + action + free };
}

/** Keep the cursor inside the viewport, moving the top as little as possible. */
export function scrollTop(prevTop: number, cursor: number, height: number, count: number): number {
  if (height <= 0 || count <= height) return 0;
  let top = Math.max(0, Math.min(prevTop, count - height));
  if (cursor < top) top = cursor;
  else if (cursor >= top + height) top = cursor - height + 1;
  return top;
}

/** Greedy word wrap to `width` columns, hard-cutting words longer than a line. */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0) return [];
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter((w) => w !== '')) {
      let w = word;
      while (w.length > width) {
        if (line !== '') {
          out.push(line);
          line = '';
        }
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (line === '') line = w;
      else if (line.length + 1 + w.length <= width) line += ' ' + w;
      else {
        out.push(line);
        line = w;
      }
    }
    out.push(line);
  }
  return out;
}
