/**
 * Colours in one place. `colors: false` (NO_COLOR) removes every colour, never a meaning:
 * stuck states and leftovers also carry a text marker (the STAT letter, `!`).
 */
export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'white';

export interface Theme {
  readonly colors: boolean;
  /** Colour for a ps STAT string (T yellow, Z magenta, D red), or undefined. */
  stat(stat: string): Color | undefined;
  readonly leftover: Color | undefined;
  readonly header: Color | undefined;
  readonly error: Color | undefined;
  readonly ok: Color | undefined;
  readonly dim: Color | undefined;
  readonly accent: Color | undefined;
  readonly tagged: Color | undefined;
}

function statColor(stat: string): Color | undefined {
  switch (stat.charAt(0)) {
    case 'T':
    case 't':
      return 'yellow';
    case 'Z':
      return 'magenta';
    case 'D':
      return 'red';
    default:
      return undefined;
  }
}

export function createTheme(colors: boolean): Theme {
  const c = (x: Color): Color | undefined => (colors ? x : undefined);
  return {
    colors,
    stat: (s) => (colors ? statColor(s) : undefined),
    leftover: c('red'),
    header: c('cyan'),
    error: c('red'),
    ok: c('green'),
    dim: c('gray'),
    accent: c('cyan'),
    tagged: c('yellow'),
  };
}

/** `NO_COLOR` (any non-empty value) turns colours off (no-color.org). Pure: env is passed in. */
export function colorsFromEnv(env: Record<string, string | undefined>): boolean {
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}
