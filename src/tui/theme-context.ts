import { createContext, useContext } from 'react';
import { createTheme, type Theme } from './theme.js';

/** The theme for components (kept apart from theme.ts so the CLI can build one without loading React). */
export const ThemeContext = createContext<Theme>(createTheme(true));

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
