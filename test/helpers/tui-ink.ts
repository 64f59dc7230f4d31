/**
 * The live screen under ink-testing-library, for the test/tui files: colours forced on before
 * Ink loads (STAT colours are asserted as SGR codes), then React, Ink's test renderer, the App
 * and its theme. Import it before anything that loads Ink; every mounted frame is cleaned up
 * after the file's tests.
 */
import { after } from 'node:test';

process.env.FORCE_COLOR = '1';
delete process.env.NO_COLOR;
export const React = (await import('react')).default;
export const { render, cleanup } = await import('ink-testing-library');
export const { App } = await import('../../src/tui/App.js');
export const { createTheme } = await import('../../src/tui/theme.js');

after(() => cleanup());

export const ESC = '\x1b';
