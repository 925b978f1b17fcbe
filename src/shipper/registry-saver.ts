import type { Logger } from '../common/logging/logger.js';
import { LogThrottle } from '../common/logging/throttle.js';
import type { Clock } from '../common/time/clock.js';
import type { Registry } from './registry.js';

// Registry writes (tmp + fsync + rename) at most this often: what a crash can replay.
const PERSIST_EVERY_MS = 200;
const PRUNE_EVERY_MS = 3600_000;

/**
 * Saves the shipper's registry and forgets long-gone files. A registry that cannot be
 * saved (disk full) does not stop shipping: Redis still gets every batch and the
 * offsets stay in memory; a crash before the next good save only replays lines, which
 * the documents' ids absorb. Logged once a minute, counted each time.
 */
export class RegistrySaver {
  private lastPersist = -Infinity;
  private lastPrune = -Infinity;
  private failing: { reason: string; since: number } | null = null;
  private readonly throttle: LogThrottle;
  /** Saves that failed. */
  failures = 0;

  constructor(
    private readonly registry: Registry,
    private readonly cleanupMs: number,
    private readonly deps: { logger: Logger; now: Clock },
  ) {
    this.throttle = new LogThrottle(deps.now);
  }

  /** Since when saves fail, and the last reason; null while they succeed. */
  failingSince(): { reason: string; since: number } | null {
    return this.failing;
  }

  /** Saves when the interval has passed (or `force`), pruning once an hour. */
  async tick(force = false): Promise<void> {
    const now = this.deps.now();
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      const removed = this.registry.prune(this.cleanupMs);
      if (removed) this.deps.logger.info({ removed }, 'registry entries of long-gone files removed');
    }
    if (!force && now - this.lastPersist < PERSIST_EVERY_MS) return;
    this.lastPersist = now;
    try {
      await this.registry.persist();
      if (this.failing) this.deps.logger.info('registry saved again');
      this.failing = null;
      this.throttle.clear();
    } catch (err) {
      this.failures++;
      this.failing = { reason: (err as Error).message, since: this.failing?.since ?? now };
      const due = this.throttle.due();
      if (due)
        this.deps.logger.error(
          { err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, file: this.registry.file, ...due },
          'cannot save the registry; shipping goes on, offsets kept in memory',
        );
    }
  }
}
