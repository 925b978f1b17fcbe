import { NotRegularFileError } from '../common/fs/safe-open.js';
import type { Logger } from '../common/logging/logger.js';
import { LogThrottle } from '../common/logging/throttle.js';
import { BatchNotQueuedError } from '../common/queue/queue.js';
import type { Clock } from '../common/time/clock.js';
import { EnqueueError } from './enqueue-error.js';
import type { ShipperStats } from './shipper-deps.js';

/**
 * What the shipper does with one input's failure (unreadable, a directory where a file
 * was expected, a batch Redis did not take): it must not stop the others, so it is
 * logged, at most once a minute per path, counted, and the input is tried again next
 * round from where Redis has it. For followed files and reports alike.
 */
export class InputTrouble {
  /** Input paths refused now, with what they are (for /metrics and the logs). */
  readonly refused = new Map<string, string>();
  readonly counts = { unreadable: 0, refused: 0 };
  readonly enqueueFailures: ShipperStats['enqueueFailures'] = { redis: 0, redis_full: 0, given_up: 0, job_gone: 0 };
  private readonly throttle: LogThrottle;

  constructor(
    private readonly logger: Logger,
    now: Clock,
  ) {
    this.throttle = new LogThrottle(now);
  }

  failed(path: string, err: unknown): void {
    if (err instanceof NotRegularFileError) this.refuse(path, err.what);
    else if (err instanceof EnqueueError) this.notQueued(err);
    else this.unreadable(path, err);
  }

  private unreadable(path: string, err: unknown): void {
    this.counts.unreadable++;
    const due = this.throttle.due(path);
    if (due)
      this.logger.error(
        { err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, path, ...due },
        'cannot read file; other files go on, this one is retried',
      );
  }

  /** A round went by without trouble for it: the next trouble is logged at once. */
  untroubled(path: string): void {
    this.throttle.clear(path);
  }

  /** Read as a regular file: neither troubled nor refused any more. */
  fine(path: string): void {
    this.untroubled(path);
    this.refused.delete(path);
  }

  /**
   * Not a regular file where an input is expected: reported once, when first seen and
   * again only if it turns into something else, and skipped; nothing else waits on it.
   */
  refuse(path: string, what: string): void {
    if (this.refused.get(path) === what) return;
    this.refused.set(path, what);
    this.counts.refused++;
    this.logger.error({ path, what }, 'input refused: not a regular file; skipped, the other inputs go on');
  }

  /**
   * A batch Redis did not take. A job a worker gave up for want of its lines (its
   * shipper died between queueing and attaching them) is the crash recovering, not a
   * fault: said once a minute per file as a warning. Anything else is Redis in trouble.
   */
  private notQueued(err: EnqueueError): void {
    const cause = err.cause;
    const why =
      cause instanceof BatchNotQueuedError ? (cause.why === 'given-up' ? 'given_up' : 'job_gone') : /^OOM\b/.test(err.message) ? 'redis_full' : 'redis';
    this.enqueueFailures[why]++;
    const due = this.throttle.due(err.path);
    if (!due) return;
    if (cause instanceof BatchNotQueuedError)
      this.logger.warn({ path: err.path, jobId: cause.jobId, why: cause.why, ...due }, `batch not queued: ${cause.message}`);
    else
      this.logger.error(
        { err: err.message, code: (cause as NodeJS.ErrnoException).code, path: err.path, ...due },
        'cannot queue batch; the offset stays, this file is tried again',
      );
  }
}
