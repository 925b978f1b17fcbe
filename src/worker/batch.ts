import { documentId, type BatchJobData } from '../common/queue/contract.js';
import type { DeadLetter, IndexRequest } from './bulk/indexer.js';
import { normaliseLogRecord } from './decode/normalise.js';
import { dailyIndex, retentionCutoff } from '../common/indices/names.js';

export interface BatchContext {
  environment: string;
  indexPrefix: string;
  timeZone: string;
  retentionDays: number;
  now: Date;
  /** When the job was created: the fallback time for events that carry none. */
  queuedAt: Date;
}

/**
 * Turns a queued batch into index requests, with deterministic ids. Events older than
 * retention are refused here: indexing them would recreate an index retention deleted.
 */
export function buildRequests(batch: BatchJobData, ctx: BatchContext): { requests: IndexRequest[]; refused: DeadLetter[] } {
  const requests: IndexRequest[] = [];
  const refused: DeadLetter[] = [];
  const cutoff = retentionCutoff(ctx.now, ctx.retentionDays).getTime();
  const eventCtx = {
    environment: ctx.environment, hostName: batch.host, path: batch.path,
    ingestedAt: ctx.now, fallbackTime: ctx.queuedAt, timeZone: ctx.timeZone,
  };
  for (const record of batch.records) {
    const doc = normaliseLogRecord(record, eventCtx);
    const id = documentId(batch.fileId, record.offset);
    const index = dailyIndex(ctx.indexPrefix, doc['@timestamp']);
    if (Date.parse(doc['@timestamp']) < cutoff) {
      refused.push({
        id, targetIndex: index, doc, attempts: 0, type: 'older_than_retention',
        reason: `event time ${doc['@timestamp']} is older than the ${ctx.retentionDays}-day retention`,
      });
    } else {
      requests.push({ index, id, doc });
    }
  }
  return { requests, refused };
}
