import { Queue, type ConnectionOptions } from 'bullmq';
import { BACKOFF_TYPE, BATCH_JOB, batchJobId, type BatchJobData } from './contract.js';

export interface BatchQueueOptions {
  name: string;
  connection: ConnectionOptions;
  maxAttempts: number;
  backoffMs: number;
}

/** The shipper's side of the queue: adds batches with deterministic ids. */
export class BatchQueue {
  readonly queue: Queue<BatchJobData>;

  constructor(private readonly options: BatchQueueOptions) {
    this.queue = new Queue<BatchJobData>(options.name, { connection: options.connection });
  }

  /** Resolves once Redis has stored the job: only then may the registry move. */
  async add(data: BatchJobData): Promise<string> {
    const first = data.records[0];
    if (!first) throw new Error('refusing to enqueue an empty batch');
    const jobId = batchJobId(data.fileId, first.offset);
    await this.queue.add(BATCH_JOB, data, {
      jobId,
      attempts: this.options.maxAttempts,
      backoff: { type: BACKOFF_TYPE, delay: this.options.backoffMs },
      // Raw lines may carry secrets until the worker sanitizes them: do not keep them.
      removeOnComplete: true,
      removeOnFail: false,
    });
    return jobId;
  }

  async backlog(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
