import { UnrecoverableError } from 'bullmq';

// Small named errors, one reason each (after BullMQ's classes/errors).

/** Some documents could not be indexed yet (outage, 429, 5xx): BullMQ retries the job. */
export class RetryLaterError extends Error {
  constructor(
    readonly remaining: number,
    readonly reason: string,
  ) {
    super(`${remaining} document(s) not indexed yet: ${reason}`);
    this.name = 'RetryLaterError';
  }
}

/**
 * A job written by a shipper speaking another contract version: never guessed at, and
 * never retried (no attempt can change its shape); it is dead-lettered (retire.ts).
 */
export class UnknownJobError extends UnrecoverableError {
  constructor(readonly jobId: string | undefined) {
    super(`job ${jobId ?? '?'} does not match the queue contract; its data is dead-lettered`);
    this.name = 'UnknownJobError';
  }
}

/** A carbon.log job whose bytes the shipper has not attached yet: wait, it will. */
export class PayloadPendingError extends RetryLaterError {
  constructor(jobId: string | undefined) {
    super(0, `job ${jobId ?? '?'} has no bytes attached yet`);
    this.name = 'PayloadPendingError';
  }
}
