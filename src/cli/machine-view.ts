/** Moved to the view layer (src/view/machine-view.ts); kept so ls, reap and the agent import it as before. */
export * from '../view/machine-view.js';
