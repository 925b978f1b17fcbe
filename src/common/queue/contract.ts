// The contract between shipper and worker: what a job carries and how ids are made.
// Both sides import this file only; bump CONTRACT_VERSION on any breaking change so a
// worker can refuse (and keep) jobs it does not understand instead of mis-indexing them.

import { createHash } from 'node:crypto';

// Version 2 added where a batch comes from (environment, shipper instance); a worker
// still indexes version 1 batches, under its own environment and the old ids, so a
// rolling upgrade loses nothing. Version 3 added short document ids (`ids`), which a
// version 2 worker would not make: it refuses such a batch (its records go to the
// dead-letter index), so workers are upgraded before shippers. Version 4 moved a
// carbon.log batch's bytes out of the job hash (payload.ts), where a version 3 worker
// would never find them: it refuses the batch too.
export const CONTRACT_VERSION = 4;
const READABLE_VERSIONS: readonly number[] = [1, 2, 3, 4];
export const BATCH_JOB = 'batch';

/** Job backoff: exponential with a cap, computed by the worker's backoffStrategy. */
export const BACKOFF_TYPE = 'capped-exponential';

export type SourceKind = 'log' | 'report' | 'csv';

/**
 * A run of raw carbon.log bytes: whole lines starting at an event boundary. The bytes
 * themselves travel beside the job (common/queue/payload.ts), chunk after chunk; the
 * worker splits and joins them (worker/decode/chunk.ts), so the shipper does no per-line
 * work. Events get the same offsets, hence the same ids, however a file was cut into
 * chunks: a chunk ends only where a line matching the start pattern begins, unless no
 * such line came within a full chunk.
 */
export interface LineChunk {
  offset: number;
  /** Offset just past the chunk's last byte. */
  end: number;
  /** The last line has no newline (file rotated away, or quiet past its timeout). */
  partial?: boolean;
  /**
   * One line longer than shipper.maxLineBytes: `text` is its first bytes, the rest up
   * to `end` was skipped. Carries no payload bytes.
   */
  truncated?: boolean;
  text?: string;
}

/** How the worker joins a chunk's lines into events: the shipper's own settings. */
export interface LineGrouping {
  startPattern: string;
  maxLines: number;
  maxBytes: number;
}

/** A carbon.log event as read from disk: a line, or a line plus its continuation lines. */
export interface LogRecord {
  /** Byte offset of the record's first byte in its file. */
  offset: number;
  text: string;
  /** Set when a line was cut at shipper.maxLineBytes. */
  truncated?: boolean;
  /** Set when the record is a last line without newline, shipped after rotation or timeout. */
  partial?: boolean;
}

/**
 * A piece of a codecarbon emissions_*.json report. The shipper streams the file and
 * sends the top-level scalars as one summary and each entry of `functions` on its own,
 * so the dynamic `functions` keys never reach a document as field names.
 */
export type ReportPart =
  | { part: 'summary'; fields: Record<string, unknown> }
  | { part: 'function'; key: string; project?: string; entry: unknown }
  | { part: 'invalid'; error: string; raw: string };

export interface ReportRecord {
  /** Byte offset of the part in the file (0 for the summary and for an invalid report). */
  offset: number;
  report: ReportPart;
}

/** A row of codecarbon's emissions.csv, keyed by the file's own header. */
export interface CsvRecord {
  offset: number;
  row: Record<string, string>;
  /** The row had another number of cells than the header: not taken for a run. */
  cells?: { row: number; header: number };
}

export type RawRecord = LogRecord | ReportRecord | CsvRecord;

interface BatchBase {
  v: 1 | 2 | 3 | typeof CONTRACT_VERSION;
  host: string;
  /** Environment of the shipper: the worker indexes the batch under it (v2). */
  environment?: string;
  /**
   * The shipper instance (its data directory's id, shipper/instance.ts) (v2). Two hosts
   * can read byte-identical files on the same device and inode (cloned VMs): without
   * it their batches and documents would share ids and one host's would be dropped.
   */
  source?: string;
  path: string;
  /** Stable file identity (device, inode, fingerprint); see shipper/identity.ts. */
  fileId: string;
  /** Offset just past the last record: where the registry moves once Redis has the job. */
  endOffset: number;
  /**
   * The batch's documents get short ids (StreamIds) (v3). A file keeps the ids it was
   * first read with to its end, so a replay overwrites what it replays (shipper/tailer.ts).
   */
  ids?: IdScheme;
}

/** `short`: a hash of the stream, then the offset; absent: the stream spelled out (v1, v2). */
export type IdScheme = 'short';

export type BatchJobData = BatchBase &
  (
    | { kind: 'lines'; records: LineChunk[]; grouping: LineGrouping }
    | { kind: 'log'; records: LogRecord[] }
    | { kind: 'report'; records: ReportRecord[] }
    | { kind: 'csv'; records: CsvRecord[] }
  );

/** What a batch's ids are made of: the shipper instance and the file identity. */
export function streamId(batch: { source?: string; fileId: string }): string {
  return batch.source ? `${batch.source}.${batch.fileId}` : batch.fileId;
}

/**
 * Same shipper, file and start offset ⇒ same job id, so a batch replayed after a crash
 * is not queued twice while the first copy is still in Redis. BullMQ refuses ":" in ids.
 */
export function batchJobId(stream: string, startOffset: number): string {
  return `${stream}_${startOffset}`;
}

/** The document ids of a batch's records. */
export function batchIds(batch: { source?: string; fileId: string; ids?: IdScheme }): StreamIds {
  return new StreamIds(streamId(batch), batch.ids);
}

// 72 bits of the stream's hash: two streams sharing them and writing the same offset
// into the same daily index is beyond any fleet's lifetime of files.
const SHORT_PREFIX_CHARS = 12;

/**
 * The document ids of one stream, from offset and record number (a replay overwrites,
 * never adds), and each as JSON text for its action line: the stream's part is escaped
 * once, and the numbers after it need no escaping (a JSON.stringify of each id cost a
 * worker more than the rest of its action line).
 *
 * Short ids (v3) are a fixed-length hash of the stream, the offset in base 36, and the
 * record number when it is not 0: Elasticsearch looks up and stores every `_id`, and
 * the stream spelled out made ids three times as long and cost it measurably more CPU
 * per document (BENCHMARKS.md, issue #18).
 */
export class StreamIds {
  private readonly prefix: string;
  private readonly quotedPrefix: string;
  private readonly short: boolean;

  constructor(stream: string, scheme?: IdScheme) {
    this.short = scheme === 'short';
    this.prefix = this.short ? createHash('sha256').update(stream).digest('base64url').slice(0, SHORT_PREFIX_CHARS) : `${stream}.`;
    this.quotedPrefix = JSON.stringify(this.prefix).slice(0, -1);
  }

  id(offset: number, recordNo: number): string {
    return `${this.prefix}${this.tail(offset, recordNo)}`;
  }

  /** JSON.stringify(this.id(offset, recordNo)), made without escaping the stream again. */
  json(offset: number, recordNo: number): string {
    return `${this.quotedPrefix}${this.tail(offset, recordNo)}"`;
  }

  private tail(offset: number, recordNo: number): string {
    if (!this.short) return `${offset}.${recordNo}`;
    return recordNo === 0 ? offset.toString(36) : `${offset.toString(36)}.${recordNo}`;
  }
}

export function isBatchJobData(data: unknown): data is BatchJobData {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Partial<BatchJobData>;
  return (
    READABLE_VERSIONS.includes(d.v as number) &&
    typeof d.fileId === 'string' &&
    Array.isArray(d.records) &&
    (d.environment === undefined || typeof d.environment === 'string') &&
    (d.source === undefined || typeof d.source === 'string') &&
    (d.ids === undefined || d.ids === 'short') &&
    (d.kind === 'log' ||
      d.kind === 'report' ||
      d.kind === 'csv' ||
      (d.kind === 'lines' && typeof (d as { grouping?: LineGrouping }).grouping?.startPattern === 'string'))
  );
}
