/** One figure of a benchmark; `npm run bench` (run-all.ts) prints them as one table. */
export interface BenchRow {
  group: string;
  name: string;
  value: number;
  unit: string;
  note?: string;
}
