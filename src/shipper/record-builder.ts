import type { FileHandle } from 'node:fs/promises';
import type { CsvRecord, LineChunk } from '../common/queue/contract.js';
import { LineSplitter, type Line } from '../common/lines/line-splitter.js';
import { LineChunker, type ChunkerOptions } from './lines/chunker.js';
import { CsvRows } from './lines/csv.js';

// Turns the bytes of one file into records for its kind: raw carbon.log chunks (the
// worker splits and joins them) or CSV rows. `end` is the offset just past a record,
// which is where the registry may move once the record is in Redis.

export interface Built {
  record: LineChunk | CsvRecord;
  end: number;
  /** Raw bytes that travel beside the job (carbon.log chunks). */
  bytes?: Buffer;
}

export interface RecordBuilder {
  /** Offset of the next byte to read. */
  readonly position: number;
  readonly needsHeader: boolean;
  primeHeader(line: string): void;
  /** Reads up to `max` bytes at `position` and builds what they complete. */
  read(handle: FileHandle, max: number): Promise<{ records: Built[]; lines: number; bytesRead: number }>;
  /** Everything held, the incomplete last line included (file rotated away, or quiet past its timeout). */
  takePartial(): Built[];
  /** Complete records held back waiting for what follows them. */
  flush(): Built[];
  /** Everything built so far is in Redis (buffers behind it may be reused). */
  release(): void;
  /**
   * The last complete line read and where it ends, for files rewritten in place (see
   * CsvBuilder); null where rewrites are not looked for.
   */
  anchor?(): { end: number; bytes: Buffer } | null;
}

export function builderFor(kind: 'log' | 'csv', offset: number, options: ChunkerOptions): RecordBuilder {
  return kind === 'csv' ? new CsvBuilder(new LineSplitter(offset, options.maxLineBytes)) : new LineChunker(offset, options);
}

// codecarbon's on_csv_write="update" (its mode for tracker.flush()) rewrites the whole
// file in place at each flush: same inode, same header, usually longer. Read on from
// the old offset, the rest of a rewritten row would ship as a row of its own; the last
// line read is kept so the tailer can see that the bytes before its offset changed and
// read the file again from 0 (a run's document id is its run_id: nothing doubles).
const ANCHOR_BYTES = 64;

class CsvBuilder implements RecordBuilder {
  private readonly rows = new CsvRows();
  private last: { end: number; bytes: Buffer } | null = null;

  constructor(private readonly splitter: LineSplitter) {}

  get position(): number {
    return this.splitter.position;
  }

  get needsHeader(): boolean {
    return !this.rows.hasHeader;
  }

  primeHeader(line: string): void {
    this.rows.prime(line);
  }

  private buf: Buffer | null = null;

  async read(handle: FileHandle, max: number): Promise<{ records: Built[]; lines: number; bytesRead: number }> {
    // Reused: the splitter copies what it keeps.
    if (!this.buf || this.buf.length < max) this.buf = Buffer.allocUnsafe(max);
    const start = this.splitter.position;
    const { bytesRead } = await handle.read(this.buf, 0, max, start);
    const lines = this.splitter.push(this.buf.subarray(0, bytesRead));
    // The raw bytes (not the decoded text) up to the last newline read.
    const end = lines.at(-1)?.end;
    if (end !== undefined && end > start) this.last = { end, bytes: Buffer.from(this.buf.subarray(Math.max(start, end - ANCHOR_BYTES) - start, end - start)) };
    return { records: lines.flatMap((l) => this.row(l)), lines: lines.length, bytesRead };
  }

  takePartial(): Built[] {
    const partial = this.splitter.takePartial();
    return partial ? this.row(partial) : [];
  }

  flush(): Built[] {
    return [];
  }

  release(): void {}

  anchor(): { end: number; bytes: Buffer } | null {
    return this.last;
  }

  private row(line: Line): Built[] {
    const record = this.rows.push(line);
    return record ? [{ record, end: line.end }] : [];
  }
}
