import type { Logger } from '../common/logging/logger.js';
import type { RedisMemory } from '../common/queue/queue.js';
import type { Clock } from '../common/time/clock.js';

// Backlog and Redis memory are checked at most this often (Redis round trips), unless
// what this shipper enqueued since may have reached the high water mark: reading from
// the page cache outruns a second by far more than the mark.
const CHECK_MS = 1000;

export type PauseCause = 'redis_unreachable' | 'queue_backlog' | 'redis_memory';

export interface BackpressureLimits {
  /** Batches waiting in the queue at which reading stops. */
  highWaterMark: number;
  /** Share of Redis's maxmemory at which reading stops (issue #34). */
  redisMemoryHighWater: number;
}

export interface BackpressureDeps {
  /** False while Redis is unreachable: reading stops, offsets stay put. */
  redisReady: () => boolean;
  /** Batches waiting in the queue. */
  backlog: () => Promise<number>;
  /** Redis's memory and its limit; null when it cannot tell. */
  redisMemory?: () => Promise<RedisMemory | null>;
  /** Batches this shipper has enqueued since it started. */
  enqueued?: () => number;
  logger: Logger;
  now: Clock;
}

/**
 * Whether the shipper may read this round. Reading stops while Redis is unreachable,
 * while the queue holds `highWaterMark` batches or more (workers behind, or none
 * running), and while Redis nears its maxmemory: with `noeviction` a full Redis refuses
 * the workers' writes too (finishing a job adds to its events stream), so the shipper
 * stops short and leaves them the room to drain. The files on disk are the buffer, not
 * the shipper's memory or Redis's. Starts paused: the first check opens the tap.
 * Changes are logged, not every round; `paused()` says why for /health and /metrics.
 */
export class Backpressure {
  private cause: PauseCause | null = 'redis_unreachable';
  private reason = 'starting';
  private since: number;
  private lastCheck = -Infinity;
  private lastWaiting = 0;
  private enqueuedAtCheck = 0;

  constructor(
    private readonly limits: BackpressureLimits,
    private readonly deps: BackpressureDeps,
  ) {
    this.since = deps.now();
  }

  async mayRead(): Promise<boolean> {
    if (!this.deps.redisReady()) return this.set('redis_unreachable', 'redis unreachable');
    const enqueued = this.deps.enqueued?.() ?? 0;
    const mayHaveReached = this.cause === null && this.lastWaiting + (enqueued - this.enqueuedAtCheck) >= this.limits.highWaterMark;
    if (this.deps.now() - this.lastCheck >= CHECK_MS || mayHaveReached) {
      this.lastCheck = this.deps.now();
      this.enqueuedAtCheck = enqueued;
      const waiting = await this.deps.backlog();
      this.lastWaiting = waiting;
      if (waiting >= this.limits.highWaterMark) return this.set('queue_backlog', `queue backlog ${waiting}`);
      const memory = (await this.deps.redisMemory?.()) ?? null;
      if (memory && memory.max > 0 && memory.used >= memory.max * this.limits.redisMemoryHighWater)
        return this.set('redis_memory', `redis memory ${mib(memory.used)} of maxmemory ${mib(memory.max)}`);
      return this.set(null, `queue backlog ${waiting}`);
    }
    return this.cause === null;
  }

  /** Why reading is paused and since when; null while it goes on. */
  paused(): { cause: PauseCause; reason: string; since: number } | null {
    return this.cause && { cause: this.cause, reason: this.reason, since: this.since };
  }

  private set(cause: PauseCause | null, reason: string): boolean {
    if (cause !== this.cause) {
      const was = this.cause;
      this.cause = cause;
      this.since = this.deps.now();
      if (cause) this.deps.logger.warn({ reason, cause }, 'reading paused (backpressure)');
      else if (was) this.deps.logger.warn({ reason }, 'reading resumed');
    }
    if (cause) this.reason = reason;
    return cause === null;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
