export * from './proc.js';
export * from './gpu.js';
export * from './run.js';
export * from './leftover.js';
export * from './errors.js';
export * from './sanitize.js';
export * from './snapshot.js';
export * from './forest.js';
