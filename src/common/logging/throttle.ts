import type { Clock } from '../time/clock.js';

/**
 * "Log at most once per interval, per key": a file that stays unreadable, a registry
 * that cannot be saved, a Redis that is down for hours must not fill the journal.
 * Counts what it held back, so the next line can say how many.
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();
  private readonly held = new Map<string, number>();

  constructor(
    private readonly now: Clock,
    private readonly everyMs = 60_000,
  ) {}

  /**
   * May `key` be logged now? If so, returns fields for the log line: how many were held
   * back since the last time, when any were.
   */
  due(key = ''): { suppressed?: number } | null {
    const now = this.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.everyMs) {
      this.held.set(key, (this.held.get(key) ?? 0) + 1);
      return null;
    }
    const suppressed = this.held.get(key) ?? 0;
    this.last.set(key, now);
    this.held.delete(key);
    return suppressed > 0 ? { suppressed } : {};
  }

  /** The trouble is over: the next one is logged at once. */
  clear(key = ''): void {
    this.last.delete(key);
    this.held.delete(key);
  }
}
