/** A pause in a poll loop (between rescans, squeue calls, journal re-reads): never a test's wait. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
