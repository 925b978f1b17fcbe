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
}

export interface RecordBuilder {
  /** Offset of the next byte to read. */
  readonly position: number;
  readonly needsHeader: boolean;
  primeHeader(line: string): void;
  push(chunk: Buffer): { records: Built[]; lines: number };
  /** Everything held, the incomplete last line included (file rotated away, or quiet past its timeout). */
  takePartial(): Built[];
  /** Complete records held back waiting for what follows them. */
  flush(): Built[];
}

export function builderFor(kind: 'log' | 'csv', offset: number, options: ChunkerOptions): RecordBuilder {
  return kind === 'csv' ? new CsvBuilder(new LineSplitter(offset, options.maxLineBytes)) : new LineChunker(offset, options);
}

class CsvBuilder implements RecordBuilder {
  private readonly rows = new CsvRows();

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

  push(chunk: Buffer): { records: Built[]; lines: number } {
    const lines = this.splitter.push(chunk);
    return { records: lines.flatMap((l) => this.row(l)), lines: lines.length };
  }

  takePartial(): Built[] {
    const partial = this.splitter.takePartial();
    return partial ? this.row(partial) : [];
  }

  flush(): Built[] {
    return [];
  }

  private row(line: Line): Built[] {
    const record = this.rows.push(line);
    return record ? [{ record, end: line.end }] : [];
  }
}
