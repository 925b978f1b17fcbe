import { IsoFormatter } from '../common/time/iso.js';
import { dailyIndex, DayIndex, retentionCutoff } from '../common/indices/names.js';
import { eachBatchRecord } from './decode/chunk.js';
import { batchIds, type BatchJobData, type RawRecord, type StreamIds } from '../common/queue/contract.js';
import { actionLines, BulkBody } from './bulk/body.js';
import type { DeadLetter, IndexRequest } from './bulk/indexer.js';
import type { RunIndexRequest } from './runs/run-index.js';
import { normaliseCsvRecord, normaliseReportRecord } from './decode/codecarbon.js';
import { runRequestOf } from './decode/codecarbon-run.js';
import { finishDocument, noteRedactions, type Document, type EventContext } from './decode/document.js';
import { decodeLogEvent, normaliseLogRecord, textEventDocument } from './decode/normalise.js';
import { TextDocumentWriter } from './decode/text-document.js';
import type { Sanitizer } from './sanitize/sanitizer.js';
import { newTally, tallyDocument, tallyLogLevel, type Tally } from './tally.js';

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
  const slice = new SliceBuilder(batch, ctx, new BulkBody());
  for (const record of eachBatchRecord(batch, payload)) slice.add(record);
  return slice.take();
}

/**
 * The same, a slice of records at a time: a megabyte of raw lines is ~10,000 events,
 * and building every document of a job at once held hundreds of megabytes per worker.
 * The slices share one body, so a slice must be indexed (or its dead letters taken)
 * before the next is asked for.
 */
export function* requestSlices(batch: BatchJobData, ctx: BatchContext, payload: Buffer | null, sliceSize: number): Generator<Slice> {
  const slice = new SliceBuilder(batch, ctx, new BulkBody());
  for (const record of eachBatchRecord(batch, payload)) {
    slice.add(record);
    if (slice.size >= sliceSize) yield slice.take();
  }
  if (slice.size > 0) yield slice.take();
}

/** A document as JSON; `doc` when it was built as an object (a carbon.log event's is written without one, text-document.ts). */
interface Written {
  json: string;
  at: string;
  doc?: Document;
  level?: string;
}

/**
 * Builds a slice one record at a time, as the record is split from its chunk: a slice's
 * records gathered first and built after lived through young-generation collections
 * with their text, and were copied and promoted by each of them.
 */
class SliceBuilder {
  private readonly eventCtx: EventContext;
  private readonly days: DayIndex;
  private readonly kind: 'log' | 'report' | 'csv';
  private readonly ids: StreamIds;
  private readonly action = actionLines();
  private readonly textWriter: TextDocumentWriter | null;
  private current: Slice | null = null;

  constructor(
    batch: BatchJobData,
    private readonly ctx: BatchContext,
    private readonly body: BulkBody,
  ) {
    this.days = new DayIndex(ctx.indexPrefix, retentionCutoff(ctx.now, ctx.retentionDays));
    this.eventCtx = {
      environment: ctx.environment,
      hostName: batch.host,
      path: batch.path,
      iso: new IsoFormatter(),
      fallbackTime: ctx.queuedAt,
      timeZone: ctx.timeZone,
      projectName: ctx.projectName,
    };
    this.kind = batch.kind === 'lines' ? 'log' : batch.kind;
    this.ids = batchIds(batch);
    this.textWriter = TextDocumentWriter.for(this.eventCtx, ctx.sanitizer);
  }

  /** Records added since the last take. */
  get size(): number {
    const s = this.current;
    return s ? s.requests.length + s.refused.length : 0;
  }

  /** The slice so far; the next add starts another in the same body, voiding this one's spans. */
  take(): Slice {
    const slice = this.current ?? { requests: [], runs: [], refused: [], tally: newTally() };
    this.current = null;
    return slice;
  }

  add(record: RawRecord): void {
    let slice = this.current;
    if (!slice) {
      this.body.reset();
      slice = this.current = { requests: [], runs: [], refused: [], tally: newTally() };
    }
    const { ctx, eventCtx, days, body } = this;
    // An invalid report shares offset 0 with the summary a valid one would have had.
    const n = 'report' in record && record.report.part === 'invalid' ? 1 : 0;
    const id = this.ids.id(record.offset, n);
    let written: Written;
    try {
      written = this.written(record);
    } catch (err) {
      // One record that breaks decoding must not hold back the rest of its batch.
      slice.refused.push(undecodable(record, eventCtx, ctx, id, err as Error));
      return;
    }
    const { json, at, doc } = written;
    const index = days.index(at);
    if (days.olderThanRetention(at)) {
      slice.refused.push({
        id,
        targetIndex: index,
        json,
        attempts: 0,
        type: 'older_than_retention',
        reason: `event time ${at} is older than the ${ctx.retentionDays}-day retention`,
      });
      return;
    }
    const run = doc && runRequestOf(doc);
    // Requests are object literals of one shape, never spreads of the span: copying an
    // object's properties with a spread cost more than the rest of this method.
    if (run) {
      const { from, doc: docAt, to } = body.append(this.action(index, run.id, run.version), json);
      const request = { body, from, doc: docAt, to, index, id: run.id, version: run.version, runId: run.runId };
      slice.requests.push(request);
      slice.runs.push(request);
    } else {
      const { from, doc: docAt, to } = body.append(this.action(index, id, undefined, this.ids.json(record.offset, n)), json);
      slice.requests.push({ body, from, doc: docAt, to, index, id });
    }
    if (doc) tallyDocument(slice.tally, doc);
    else tallyLogLevel(slice.tally, written.level);
  }

  /** The record's document as JSON, with what the slice reads of it. */
  private written(record: RawRecord): Written {
    const { ctx, eventCtx } = this;
    let doc: Document;
    if (this.kind === 'log' && 'text' in record) {
      const event = decodeLogEvent(record, eventCtx, ctx.logPatterns);
      if (event.doc) doc = event.doc;
      else {
        const written = this.textWriter?.write(event.text);
        if (written) return written;
        doc = textEventDocument(event.text, eventCtx);
      }
    } else doc = decode(this.kind, record, eventCtx, ctx.logPatterns);
    noteRedactions(doc, ctx.sanitizer.sanitizeDocument(doc, OWN_FIELDS));
    // Serialised here, once, and the object dropped: held until its bulk request
    // returned, each document outlived two scavenges and was promoted, and garbage
    // collection was a fifth of a worker's CPU.
    return { json: JSON.stringify(doc), at: doc['@timestamp'], doc };
  }
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
