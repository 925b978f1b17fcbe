import { parse } from 'csv-parse/sync';
import type { CsvRecord } from '../../common/queue/contract.js';
import type { Line } from '../../common/lines/line-splitter.js';

// codecarbon's emissions.csv: a header, then one row per run. Columns come from the
// header, never assumed; a later header line (codecarbon adds columns in new versions)
// replaces it. Cells are parsed by csv-parse (RFC 4180 quoting; codecarbon never writes
// newlines inside cells, so each line is a record).

/** One line's cells. A quote never closed is no reason to lose the row: its cells are then split at commas. */
export function parseCsvLine(text: string): string[] {
  try {
    return (parse(text, { relax_quotes: true, relax_column_count: true }) as string[][])[0] ?? [''];
  } catch {
    return text.split(',');
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_ ]*$/;

export class CsvRows {
  private header: string[] | null = null;

  /** Header read from the start of the file when resuming in the middle of it. */
  prime(headerLine: string): void {
    this.header = parseCsvLine(headerLine);
  }

  get hasHeader(): boolean {
    return this.header !== null;
  }

  /** A row, or null for a header line (which becomes the header) or an empty line. */
  push(line: Line): CsvRecord | null {
    if (line.text.trim() === '') return null;
    const cells = parseCsvLine(line.text);
    if (!this.header || this.looksLikeHeader(cells)) {
      this.header = cells;
      return null;
    }
    const row: Record<string, string> = {};
    cells.forEach((value, i) => {
      row[this.header![i] ?? `column_${i + 1}`] = value;
    });
    const header = this.header!.length;
    return cells.length === header ? { offset: line.offset, row } : { offset: line.offset, row, cells: { row: cells.length, header } };
  }

  private looksLikeHeader(cells: string[]): boolean {
    return cells[0] === this.header![0] && cells.every((c) => IDENTIFIER.test(c));
  }
}
