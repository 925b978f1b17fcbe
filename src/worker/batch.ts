import { IsoFormatter } from '../common/time/iso.js';
import { dailyIndex, DayIndex, retentionCutoff } from '../common/indices/names.js';
import { batchRecords, eachBatchRecord } from './decode/chunk.js';
import { documentId, streamId, type BatchJobData, type RawRecord } from '../common/queue/contract.js';
import { actionLines, BulkBody } from './bulk/body.js';
import type { DeadLetter, IndexRequest } from './bulk/indexer.js';
import type { RunIndexRequest } from './runs/run-index.js';
import { normaliseCsvRecord, normaliseReportRecord } from './decode/codecarbon.js';
import { runRequestOf } from './decode/codecarbon-run.js';
import { finishDocument, type Document, type EventContext } from './decode/document.js';
import { normaliseLogRecord } from './decode/normalise.js';
import type { Sanitizer } from './sanitize/sanitizer.js';
import { newTally, tallyDocument, type Tally } from './tally.js';

export interface BatchContext {
  environment: string;
  indexPrefix: string;
  timeZone: string;
  retentionDays: number;
  now: Date;
  /** When the job was created: the fallback time for events that carry none. */
  queuedAt: Date;
  sanitizer: Sanitizer;
  logPatterns: readonly RegExp[];
  projectName: string;
}

/** Index requests (their operations written into one body), documents refused before sending, and their metrics. */
export interface Slice {
  requests: IndexRequest[];
  /** The codecarbon runs' requests among them, for their index pins (run-index.ts). */
  runs: RunIndexRequest[];
  refused: DeadLetter[];
  tally: Tally;
}

/**
 * Turns a queued batch into sanitized index requests with deterministic ids. Events
 * older than retention are refused here: indexing them would recreate an index that
 * retention deleted.
 */
export function buildRequests(batch: BatchJobData, ctx: BatchContext, payload: Buffer | null = null): Slice {
  return requestsFor(batch, batchRecords(batch, payload), ctx, new BulkBody());
}

/**
 * The same, a slice of records at a time: a megabyte of raw lines is ~10,000 events,
 * and building every document of a job at once held hundreds of megabytes per worker.
 * The slices share one body, so a slice must be indexed (or its dead letters taken)
 * before the next is asked for.
 */
export function* requestSlices(batch: BatchJobData, ctx: BatchContext, payload: Buffer | null, sliceSize: number): Generator<Slice> {
  const body = new BulkBody();
  let slice: RawRecord[] = [];
  for (const record of eachBatchRecord(batch, payload)) {
    slice.push(record);
    if (slice.length < sliceSize) continue;
    yield requestsFor(batch, slice, ctx, body);
    slice = [];
  }
  if (slice.length > 0) yield requestsFor(batch, slice, ctx, body);
}

function requestsFor(batch: BatchJobData, records: RawRecord[], ctx: BatchContext, body: BulkBody): Slice {
  const requests: IndexRequest[] = [];
  const runs: RunIndexRequest[] = [];
  const refused: DeadLetter[] = [];
  const tally = newTally();
  const days = new DayIndex(ctx.indexPrefix, retentionCutoff(ctx.now, ctx.retentionDays));
  const eventCtx: EventContext = {
    environment: ctx.environment,
    hostName: batch.host,
    path: batch.path,
    ingestedAt: ctx.now.toISOString(),
    iso: new IsoFormatter(),
    fallbackTime: ctx.queuedAt,
    timeZone: ctx.timeZone,
    projectName: ctx.projectName,
  };
  const kind = batch.kind === 'lines' ? 'log' : batch.kind;
  const stream = streamId(batch);
  body.reset();
  const action = actionLines();
  for (const record of records) {
    // An invalid report shares offset 0 with the summary a valid one would have had.
    const n = 'report' in record && record.report.part === 'invalid' ? 1 : 0;
    const id = documentId(stream, record.offset, n);
    let doc: Document;
    let json: string;
    try {
      doc = decode(kind, record, eventCtx, ctx.logPatterns);
      doc.sanitizer = { redactions: ctx.sanitizer.sanitizeDocument(doc, OWN_FIELDS) };
      // Serialised here, once, and the object dropped: held until its bulk request
      // returned, each document outlived two scavenges and was promoted, and garbage
      // collection was a fifth of a worker's CPU.
      json = JSON.stringify(doc);
    } catch (err) {
      // One record that breaks decoding must not hold back the rest of its batch.
      refused.push(undecodable(record, eventCtx, ctx, id, err as Error));
      continue;
    }
    const at = doc['@timestamp'];
    const index = days.index(at);
    const run = runRequestOf(doc);
    if (days.olderThanRetention(at)) {
      refused.push({
        id,
        targetIndex: index,
        json,
        attempts: 0,
        type: 'older_than_retention',
        reason: `event time ${at} is older than the ${ctx.retentionDays}-day retention`,
      });
    } else {
      if (run) {
        const request = { ...body.append(action(index, run.id, run.version), json), index, id: run.id, version: run.version, runId: run.runId };
        requests.push(request);
        runs.push(request);
      } else requests.push({ ...body.append(action(index, id), json), index, id });
      tallyDocument(tally, doc);
    }
  }
  return { requests, runs, refused, tally };
}

// Written by finishDocument from the pipeline's own data, never from the input: the
// sanitizer need not read them. (A JSON line's clashing keys go under `json`.)
const OWN_FIELDS: ReadonlySet<string> = new Set(['@timestamp', 'event', 'host', 'environment', 'component', 'tags']);

const RAW_SLICE = 4096;

/** A dead letter for a record that could not be decoded: a bounded, sanitized slice of it. */
function undecodable(record: RawRecord, eventCtx: EventContext, ctx: BatchContext, id: string, err: Error): DeadLetter {
  const raw = 'text' in record ? record.text : JSON.stringify(record).slice(0, RAW_SLICE);
  const doc = finishDocument({ message: ctx.sanitizer.sanitizeString(raw.slice(0, RAW_SLICE)).text }, eventCtx, 'carbon.log', record.offset, null);
  return {
    id,
    targetIndex: dailyIndex(ctx.indexPrefix, doc['@timestamp']),
    json: JSON.stringify(doc),
    attempts: 0,
    type: 'decode_error',
    reason: `${err.name}: ${err.message}`,
  };
}

function decode(kind: 'log' | 'report' | 'csv', record: RawRecord, ctx: EventContext, patterns: readonly RegExp[]): Document {
  if (kind === 'report' && 'report' in record) return normaliseReportRecord(record, ctx);
  if (kind === 'csv' && 'row' in record) return normaliseCsvRecord(record, ctx);
  if ('text' in record) return normaliseLogRecord(record, ctx, patterns);
  // A record that does not fit its batch's kind: kept, flagged, never guessed at.
  return normaliseLogRecord({ offset: record.offset, text: JSON.stringify(record).slice(0, 4096) }, ctx);
}
