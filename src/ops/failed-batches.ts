import type { Job, Queue } from 'bullmq';
import type { BatchJobData } from '../common/queue/contract.js';

// Batches BullMQ holds as failed: those a worker could not index for a fault other than
// Elasticsearch being unavailable (which waits without spending attempts): a bug, an
// unknown queue contract. They are kept, never dropped by the pipeline; once the cause
// is fixed they go back to the queue, one by one or all, or an operator drops one.

export interface FailedBatch {
  id: string;
  /** The file it came from, its host, its first offset and how many records it holds. */
  host: string;
  path: string;
  kind: string;
  offset: number | null;
  records: number;
  attempts: number;
  failedAt: string;
  reason: string;
}

const PAGE = 500;

function describe(job: Job<BatchJobData>): FailedBatch {
  const d = (job.data ?? {}) as Partial<BatchJobData>;
  const records = Array.isArray(d.records) ? d.records : [];
  return {
    id: job.id ?? '',
    host: typeof d.host === 'string' ? d.host : '',
    path: typeof d.path === 'string' ? d.path : '',
    kind: typeof d.kind === 'string' ? d.kind : '',
    offset: typeof records[0]?.offset === 'number' ? records[0].offset : null,
    records: records.length,
    attempts: job.attemptsMade,
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : '',
    reason: job.failedReason ?? '',
  };
}

/** Every failed batch, oldest failure first. */
export async function listFailed(queue: Queue<BatchJobData>): Promise<FailedBatch[]> {
  const out: FailedBatch[] = [];
  for (let start = 0; ; start += PAGE) {
    const jobs = (await queue.getFailed(start, start + PAGE - 1)) as Job<BatchJobData>[];
    for (const job of jobs) if (job) out.push(describe(job));
    if (jobs.length < PAGE) break;
  }
  return out.sort((a, b) => a.failedAt.localeCompare(b.failedAt));
}

export class NotFailedError extends Error {
  constructor(
    readonly id: string,
    readonly state: string,
  ) {
    super(state === 'unknown' ? `no batch ${JSON.stringify(id)} in the queue` : `batch ${JSON.stringify(id)} is ${state}, not failed`);
    this.name = 'NotFailedError';
  }
}

async function failedJob(queue: Queue<BatchJobData>, id: string): Promise<Job<BatchJobData>> {
  const job = await queue.getJob(id);
  const state = job ? await job.getState() : 'unknown';
  if (!job || state !== 'failed') throw new NotFailedError(id, state);
  return job;
}

/**
 * Sends failed batches back to the queue with their attempts reset: `ids`, or every
 * failed one. Only those: nothing else in the queue moves.
 */
export async function retryFailed(queue: Queue<BatchJobData>, ids: string[] | 'all'): Promise<string[]> {
  const targets = ids === 'all' ? (await listFailed(queue)).map((f) => f.id) : ids;
  const jobs = await Promise.all(targets.map((id) => failedJob(queue, id)));
  for (const job of jobs) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return targets;
}

/** Removes one failed batch for good: its records are not indexed by anyone. */
export async function dropFailed(queue: Queue<BatchJobData>, id: string): Promise<FailedBatch> {
  const job = await failedJob(queue, id);
  const described = describe(job);
  await job.remove();
  return described;
}
