/**
 * Redis did not take a batch (down, refusing, short of replicas, or the job's id stands
 * for one a worker gave up): the file was read fine, and the offset stays. Kept apart
 * from read errors so that the shipper does not report a readable file as unreadable.
 */
export class EnqueueError extends Error {
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'EnqueueError';
  }
}
