import type { CsvRecord, LogRecord } from '../common/queue/contract.js';
import { CsvRows } from './lines/csv.js';
import { LineSplitter, type Line } from './lines/line-splitter.js';
import { MultilineJoiner, type JoinedEvent, type MultilineOptions } from './lines/multiline.js';

// Turns the bytes of one file into records for its kind: carbon.log events (lines
// joined into multiline events) or CSV rows. `end` is the offset just past a record,
// which is where the registry may move once the record is in Redis.

export interface Built {
  record: LogRecord | CsvRecord;
  end: number;
}

export interface RecordBuilder {
  /** Offset of the next byte to read. */
  readonly position: number;
  readonly needsHeader: boolean;
  primeHeader(line: string): void;
  push(chunk: Buffer): { records: Built[]; lines: number };
  /** The incomplete last line as a record (file rotated away, or quiet past its timeout). */
  takePartial(): Built[];
  /** Records held back waiting for continuation lines. */
  flush(): Built[];
}

export function builderFor(
  kind: 'log' | 'csv',
  offset: number,
  options: { maxLineBytes: number; multiline: MultilineOptions },
): RecordBuilder {
  const splitter = new LineSplitter(offset, options.maxLineBytes);
  return kind === 'csv' ? new CsvBuilder(splitter) : new LogBuilder(splitter, new MultilineJoiner(options.multiline));
}

class LogBuilder implements RecordBuilder {
  readonly needsHeader = false;

  constructor(private readonly splitter: LineSplitter, private readonly joiner: MultilineJoiner) {}

  get position(): number {
    return this.splitter.position;
  }

  primeHeader(): void {}

  push(chunk: Buffer): { records: Built[]; lines: number } {
    const lines = this.splitter.push(chunk);
    const records: Built[] = [];
    for (const line of lines) for (const e of this.joiner.push(line)) records.push(logBuilt(e));
    return { records, lines: lines.length };
  }

  takePartial(): Built[] {
    const partial = this.splitter.takePartial();
    if (!partial) return [];
    const out = this.joiner.push(partial).map((e) => logBuilt(e));
    const last = this.joiner.flush();
    if (last) out.push(logBuilt(last, true));
    return out;
  }

  flush(): Built[] {
    const last = this.joiner.flush();
    return last ? [logBuilt(last)] : [];
  }
}

function logBuilt(e: JoinedEvent, partial = false): Built {
  const record: LogRecord = { offset: e.offset, text: e.text };
  if (e.truncated) record.truncated = true;
  if (partial) record.partial = true;
  return { record, end: e.end };
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
