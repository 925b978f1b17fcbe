import type { Logger } from '../common/logging/logger.js';
import type { Clock } from '../common/time/clock.js';

// Backlog above which reading stops; checked at most this often (a Redis round trip).
const BACKLOG_CHECK_MS = 1000;

export interface BackpressureDeps {
  /** False while Redis is unreachable: reading stops, offsets stay put. */
  redisReady: () => boolean;
  /** Batches waiting in the queue. */
  backlog: () => Promise<number>;
  logger: Logger;
  now: Clock;
}

/**
 * Whether the shipper may read this round. Reading stops while Redis is unreachable
 * and while the queue holds `highWaterMark` batches or more (workers behind, or none
 * running): the files on disk are the buffer, not the shipper's memory or Redis's.
 * Starts paused: the first check opens the tap. Changes are logged, not every round.
 */
export class Backpressure {
  private paused = true;
  private lastCheck = -Infinity;

  constructor(
    private readonly highWaterMark: number,
    private readonly deps: BackpressureDeps,
  ) {}

  async mayRead(): Promise<boolean> {
    if (!this.deps.redisReady()) return this.set(true, 'redis unreachable');
    if (this.deps.now() - this.lastCheck >= BACKLOG_CHECK_MS) {
      this.lastCheck = this.deps.now();
      const waiting = await this.deps.backlog();
      return this.set(waiting >= this.highWaterMark, `queue backlog ${waiting}`);
    }
    return !this.paused;
  }

  private set(paused: boolean, reason: string): boolean {
    if (paused !== this.paused) {
      this.paused = paused;
      this.deps.logger.warn({ reason }, paused ? 'reading paused (backpressure)' : 'reading resumed');
    }
    return !paused;
  }
}
