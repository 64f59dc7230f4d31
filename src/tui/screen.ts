/**
 * Everything the live screen needs to draw, behind one import: src/cli/commands/top.tsx loads
 * it only once NODE_ENV is set (React and Ink choose their production build when first loaded),
 * and the installed bundle (scripts/bundle.mjs) then reads it as one chunk instead of one per
 * package.
 */
export { createElement } from 'react';
export { render } from 'ink';
export { App } from './App.js';
