// Every retry in tta-carbon waits the same way: doubling from the base, capped at the
// maximum (BullMQ's exponential strategy, bounded). One place, as BullMQ keeps its
// strategies in one file.

/** The wait before attempt `attempt` (1 = the first retry). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

/** Half of it fixed, half random: many items retried at once do not all come back together. */
export function jittered(ms: number, random: () => number = Math.random): number {
  return ms / 2 + random() * (ms / 2);
}
