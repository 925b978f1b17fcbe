// Small named errors, one reason each (after BullMQ's classes/errors).

/** Some documents could not be indexed yet (outage, 429, 5xx): BullMQ retries the job. */
export class RetryLaterError extends Error {
  constructor(readonly remaining: number, readonly reason: string) {
    super(`${remaining} document(s) not indexed yet: ${reason}`);
    this.name = 'RetryLaterError';
  }
}

/** A job written by a shipper speaking another contract version; kept, never guessed at. */
export class UnknownJobError extends Error {
  constructor(readonly jobId: string | undefined) {
    super(`job ${jobId ?? '?'} does not match queue contract; left in the failed set for inspection`);
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
