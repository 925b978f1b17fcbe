import { IsoFormatter } from '../common/time/iso.js';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { dailyIndex } from '../common/indices/names.js';
import type { Logger } from '../common/logging/logger.js';
import { batchIds, isBatchJobData, type BatchJobData } from '../common/queue/contract.js';
import { dropBytes, jobKey, readPayload } from '../common/queue/payload.js';
import type { BulkIndexer, DeadLetter } from './bulk/indexer.js';
import { finishDocument, type EventContext } from './decode/document.js';
import type { Sanitizer } from './sanitize/sanitizer.js';

// A batch BullMQ will not try again (attempts spent, or unrecoverable) must neither
// vanish nor keep its raw, unsanitized lines in Redis for as long as the failed set
// lives (issue #13). Its records go to the dead-letter index, sanitized, with the
// failure as the reason; the job then keeps the reason and where the records came
// from, not the records. The letters are built without the batch's own decoders or
// grouping pattern: either may be what failed.

const RAW_SLICE = 4096;

export interface RetireDeps {
  connection: Redis;
  indexer: BulkIndexer;
  sanitizer: Sanitizer;
  logger: Logger;
  environment: string;
  indexPrefix: string;
  timeZone: string;
  projectName: string;
}

/** What a retired job keeps in Redis instead of its records. */
export interface RetiredJobData {
  retired: true;
  reason: string;
  deadLettered: number;
  kind?: string;
  host?: string;
  path?: string;
  fileId?: string;
  endOffset?: number;
}

export async function retireFailedJob(job: Job, err: Error, deps: RetireDeps): Promise<void> {
  if ((job.data as Partial<RetiredJobData>)?.retired) return;
  const key = jobKey(job.queueQualifiedName, job.id!);
  const payload = await readPayload(deps.connection, key);
  const reason = deps.sanitizer.sanitizeString(`${err.name}: ${err.message}`).text;
  const letters = failedBatchLetters(job.data, payload, reason, job, deps);
  // Throws when the dead-letter index cannot take them: the job then stays whole, so
  // nothing is lost, and the error is logged by the caller.
  await deps.indexer.index([], letters);
  const d = isBatchJobData(job.data) ? job.data : undefined;
  const stub: RetiredJobData = {
    retired: true,
    reason,
    deadLettered: letters.length,
    ...(d && { kind: d.kind, host: d.host, path: d.path, fileId: d.fileId, endOffset: d.endOffset }),
  };
  await job.updateData(stub as never);
  await dropBytes(deps.connection, key);
  deps.logger.warn(
    { jobId: job.id, deadLettered: letters.length, reason },
    'failed batch retired: its records are in the dead-letter index, its bytes removed from Redis',
  );
}

/** One sanitized dead letter per line (carbon.log) or record (the other kinds). */
export function failedBatchLetters(
  data: unknown,
  payload: Buffer | null,
  reason: string,
  job: Pick<Job, 'id' | 'timestamp'>,
  deps: Omit<RetireDeps, 'connection' | 'indexer' | 'logger'>,
): DeadLetter[] {
  const letter = (batch: Partial<BatchJobData>, id: string, offset: number, text: string): DeadLetter => {
    const ctx: EventContext = {
      environment: deps.environment,
      hostName: String(batch.host ?? 'unknown'),
      path: String(batch.path ?? 'unknown'),
      iso: new IsoFormatter(),
      fallbackTime: new Date(job.timestamp),
      timeZone: deps.timeZone,
      projectName: deps.projectName,
    };
    const doc = finishDocument({ message: deps.sanitizer.sanitizeString(text.slice(0, RAW_SLICE)).text }, ctx, 'carbon.log', offset, null);
    return { id, targetIndex: dailyIndex(deps.indexPrefix, doc['@timestamp']), json: JSON.stringify(doc), attempts: 0, type: 'batch_failed', reason };
  };
  if (!isBatchJobData(data)) return [letter({}, `failed-job-${job.id}`, 0, safeJson(data))];
  const ids = batchIds(data);
  if (data.kind !== 'lines') return data.records.map((r, i) => letter(data, ids.id(r.offset, i), r.offset, safeJson(r)));
  const out: DeadLetter[] = [];
  let at = 0;
  for (const chunk of data.records) {
    if (chunk.truncated) {
      out.push(letter(data, ids.id(chunk.offset, 0), chunk.offset, chunk.text ?? ''));
      continue;
    }
    const bytes = payload?.subarray(at, at + chunk.end - chunk.offset);
    at += chunk.end - chunk.offset;
    if (!bytes || bytes.length === 0) continue;
    for (let start = 0; start < bytes.length; ) {
      const nl = bytes.indexOf(10, start);
      const end = nl === -1 ? bytes.length : nl;
      out.push(letter(data, ids.id(chunk.offset + start, 0), chunk.offset + start, bytes.subarray(start, end).toString('utf8')));
      start = end + 1;
    }
  }
  return out;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, RAW_SLICE) ?? String(value);
  } catch {
    return String(value).slice(0, RAW_SLICE);
  }
}
