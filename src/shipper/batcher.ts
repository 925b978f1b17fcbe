import type { CsvRecord, LineChunk } from '../common/queue/contract.js';
import type { Clock } from '../common/time/clock.js';
import type { Built } from './record-builder.js';

export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
  /** A batch older than this is shipped however small: the latency bound. */
  lingerMs: number;
}

/**
 * The records read from one file and not yet in Redis, with the bytes beside them. A
 * batch is shipped when full (records or bytes) or when its first record has waited
 * `lingerMs`; what it covers ends at the last record's end, the offset the registry
 * moves to once Redis holds it.
 */
export class Batcher {
  records: (LineChunk | CsvRecord)[] = [];
  /** Bytes of the batch's chunks, sent beside the job. */
  payload: Buffer[] = [];
  private bytes = 0;
  /** Offset just past the last record. */
  end: number;
  private startedAt = 0;

  constructor(
    start: number,
    private readonly limits: BatchLimits,
    private readonly now: Clock,
  ) {
    this.end = start;
  }

  get empty(): boolean {
    return this.records.length === 0;
  }

  add(built: Built): void {
    if (this.records.length === 0) this.startedAt = this.now();
    this.records.push(built.record);
    if (built.bytes) this.payload.push(built.bytes);
    this.bytes += built.end - built.record.offset;
    this.end = built.end;
  }

  full(): boolean {
    return this.records.length >= this.limits.maxRecords || this.bytes >= this.limits.maxBytes;
  }

  lingered(): boolean {
    return this.records.length > 0 && this.now() - this.startedAt >= this.limits.lingerMs;
  }

  /** After Redis took the batch: empty, ending where it ended. */
  clear(): void {
    this.records = [];
    this.payload = [];
    this.bytes = 0;
  }
}
