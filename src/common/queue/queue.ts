import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { BACKOFF_TYPE, BATCH_JOB, batchJobId, isBatchJobData, streamId, type BatchJobData } from './contract.js';
import { attachPayload, hasPayload, jobKey, type AttachResult } from './payload.js';

/** The bytes of a batch queued before a crash, read again from its file. */
export type Rebuild = (queued: BatchJobData) => Promise<Buffer[]>;

export interface BatchQueueOptions {
  name: string;
  connection: ConnectionOptions;
  maxAttempts: number;
  backoffMs: number;
  /** Replicas a batch must reach (WAIT) before add() resolves; 0: the primary's word. */
  minReplicas?: number;
  replicaTimeoutMs?: number;
}

/** What Redis says of its memory: `max` 0 means no limit. */
export interface RedisMemory {
  used: number;
  max: number;
}

/** Fewer replicas than required hold a batch: it is on the primary, but not safe yet. */
export class ReplicationError extends Error {
  constructor(
    readonly acked: number,
    readonly wanted: number,
    timeoutMs: number,
  ) {
    super(`batch reached ${acked} of ${wanted} Redis replicas within ${timeoutMs} ms; the offset stays until it does`);
    this.name = 'ReplicationError';
  }
}

/**
 * The job under this batch's id will not index these bytes: a worker gave it up waiting
 * for them, or it went meanwhile. The offset stays; the batch is queued again, as a new
 * job, once that one is gone.
 */
export class BatchNotQueuedError extends Error {
  constructor(
    readonly jobId: string,
    readonly why: Exclude<AttachResult, 'attached' | 'already' | 'consumed'>,
  ) {
    super(
      `batch ${jobId} is not queued: ${why === 'given-up' ? 'a worker gave it up waiting for its lines' : 'its job went before its lines were attached'}; it is queued again next round`,
    );
    this.name = 'BatchNotQueuedError';
  }
}

/** Attached, already there, or taken by a worker already: the job indexes these bytes. */
function holds(jobId: string, result: AttachResult): void {
  if (result === 'job-gone' || result === 'given-up') throw new BatchNotQueuedError(jobId, result);
}

/** The shipper's side of the queue: adds batches with deterministic ids. */
export class BatchQueue {
  readonly queue: Queue<BatchJobData>;

  constructor(private readonly options: BatchQueueOptions) {
    this.queue = new Queue<BatchJobData>(options.name, { connection: options.connection });
  }

  /**
   * Resolves once Redis holds the batch and its bytes: only then may the registry move.
   * Returns the offset the queued job covers. After a crash a job with the same id may
   * still be queued from before, cut at another end: that job stands (its bytes attached
   * from the file if the crash came between adding and attaching them) and its end is
   * returned, so the caller reads on from there: nothing skipped, nothing queued twice.
   */
  async add(data: BatchJobData, payload: Buffer[] = [], rebuild?: Rebuild): Promise<number> {
    const first = data.records[0];
    if (!first) throw new Error('refusing to enqueue an empty batch');
    const jobId = batchJobId(streamId(data), first.offset);
    const key = jobKey(this.queue.qualifiedName, jobId);
    const client = (await this.queue.client) as unknown as Redis;
    const queued = (await this.queue.getJob(jobId))?.data;
    if (queued && isBatchJobData(queued)) {
      if (queued.kind === 'lines' && rebuild && !(await hasPayload(client, key))) holds(jobId, await attachPayload(client, key, await rebuild(queued)));
      // Queued before, maybe only on a primary that has not passed it on: ask again.
      await this.replicated(client);
      return queued.endOffset;
    }
    await this.queue.add(BATCH_JOB, data, {
      jobId,
      attempts: this.options.maxAttempts,
      backoff: { type: BACKOFF_TYPE, delay: this.options.backoffMs },
      // Raw lines may carry secrets until the worker sanitizes them: do not keep them.
      removeOnComplete: true,
      removeOnFail: false,
    });
    if (data.kind === 'lines') holds(jobId, await attachPayload(client, key, payload));
    await this.replicated(client);
    return data.endOffset;
  }

  /** WAIT for the configured replicas: everything this connection wrote is on them. */
  private async replicated(client: Redis): Promise<void> {
    const wanted = this.options.minReplicas ?? 0;
    if (wanted === 0) return;
    const timeout = this.options.replicaTimeoutMs ?? 2_000;
    const acked = await client.wait(wanted, timeout);
    if (acked < wanted) throw new ReplicationError(acked, wanted, timeout);
  }

  async backlog(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Redis's used memory and maxmemory (INFO memory); null when INFO is not allowed. */
  async memory(): Promise<RedisMemory | null> {
    const client = (await this.queue.client) as unknown as Redis;
    const info = await client.info('memory').catch(() => '');
    const used = /^used_memory:(\d+)/m.exec(info)?.[1];
    const max = /^maxmemory:(\d+)/m.exec(info)?.[1];
    return used && max ? { used: Number(used), max: Number(max) } : null;
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
