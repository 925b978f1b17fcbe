// Which active jobs belong to incarnations that are gone: a pure verdict over what one
// reaping round read from Redis (reaper.ts), so that the rule is in one place and can
// be tested without a clock.

export interface ActiveJob {
  id: string;
  /** The incarnation that took it (BullMQ's processedBy, the worker's name). */
  processedBy: string | null;
}

/**
 * Jobs whose incarnation registered (so it is one of ours, with a heartbeat) and has no
 * heartbeat left. A job of an incarnation that never registered (a worker of an older
 * release, a tool) is left to BullMQ's stalled check, which needs no heartbeat.
 */
export function orphanJobs(active: readonly ActiveJob[], registered: ReadonlySet<string>, alive: ReadonlySet<string>): ActiveJob[] {
  return active.filter((j) => j.processedBy !== null && registered.has(j.processedBy) && !alive.has(j.processedBy));
}

/** Registered incarnations without a heartbeat and without an active job left: forgotten. */
export function forgotten(registered: ReadonlySet<string>, alive: ReadonlySet<string>, active: readonly ActiveJob[]): string[] {
  const holding = new Set(active.map((j) => j.processedBy));
  return [...registered].filter((n) => !alive.has(n) && !holding.has(n));
}
