import { useSyncExternalStore } from 'react';
import type { DataSource, TuiData } from '../types.js';

/** The latest immutable data from the source; re-renders only when the source publishes. */
export function useData(source: DataSource): TuiData {
  return useSyncExternalStore(source.subscribe, source.getData, source.getData);
}
