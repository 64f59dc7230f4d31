/**
 * Turns `tmux capture-pane -e -p` output (SGR colour escapes only) into a self-contained
 * HTML page that a headless browser can photograph. Pure: text in, HTML out.
 */

const PALETTE = [
  '#1d1f21', '#cc6666', '#b5bd68', '#f0c674', '#81a2be', '#b294bb', '#8abeb7', '#c5c8c6',
  '#666666', '#d54e53', '#b9ca4a', '#e7c547', '#7aa6da', '#c397d8', '#70c0b1', '#eaeaea',
];

interface Style {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false };

function xterm256(n: number): string {
  if (n < 16) return PALETTE[n]!;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = (x: number): number => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`;
}

function applySgr(style: Style, params: number[]): Style {
  let s = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (p === 0) s = { ...PLAIN };
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = PALETTE[p - 30]!;
    else if (p === 39) s.fg = null;
    else if (p >= 40 && p <= 47) s.bg = PALETTE[p - 40]!;
    else if (p === 49) s.bg = null;
    else if (p >= 90 && p <= 97) s.fg = PALETTE[p - 90 + 8]!;
    else if (p >= 100 && p <= 107) s.bg = PALETTE[p - 100 + 8]!;
    else if ((p === 38 || p === 48) && params[i + 1] === 5) {
      const colour = xterm256(params[i + 2] ?? 0);
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      i += 2;
    } else if ((p === 38 || p === 48) && params[i + 1] === 2) {
      const colour = `rgb(${params[i + 2] ?? 0},${params[i + 3] ?? 0},${params[i + 4] ?? 0})`;
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      i += 4;
    }
  }
  return s;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function css(s: Style): string {
  let fg = s.fg ?? 'var(--fg)';
  let bg = s.bg ?? 'transparent';
  if (s.inverse) [fg, bg] = [s.bg ?? 'var(--bg)', s.fg ?? 'var(--fg)'];
  const parts = [`color:${fg}`];
  if (bg !== 'transparent') parts.push(`background:${bg}`);
  if (s.bold) parts.push('font-weight:bold');
  if (s.dim) parts.push('opacity:0.65');
  if (s.italic) parts.push('font-style:italic');
  if (s.underline) parts.push('text-decoration:underline');
  return parts.join(';');
}

/** Converts ANSI text to HTML spans; escapes other than SGR are dropped. */
export function ansiToHtmlBody(text: string): string {
  let style: Style = { ...PLAIN };
  let out = '';
  let run = '';
  const flush = (): void => {
    if (run) out += `<span style="${css(style)}">${escapeHtml(run)}</span>`;
    run = '';
  };
  const re = /\x1b\[([0-9;:?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b./g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    run += text.slice(last, m.index);
    last = re.lastIndex;
    if (m[2] === 'm') {
      flush();
      const params = (m[1] ?? '').split(/[;:]/).filter((x) => x !== '').map(Number);
      style = applySgr(style, params.length ? params : [0]);
    }
  }
  run += text.slice(last);
  flush();
  return out;
}

export function ansiToHtmlPage(text: string, opts: { cols: number; rows: number; title: string }): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(opts.title)}</title><style>
:root { --fg: #c5c8c6; --bg: #1d1f21; }
html, body { margin: 0; background: var(--bg); }
pre { margin: 0; padding: 10px 12px; color: var(--fg); font: 14px/1.25 'DejaVu Sans Mono', monospace; white-space: pre; }
</style></head><body><pre>${ansiToHtmlBody(text)}</pre></body></html>`;
}
