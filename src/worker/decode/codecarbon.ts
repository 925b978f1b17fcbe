import type { CsvRecord, ReportRecord } from '../../common/queue/contract.js';
import { parseTimestamp } from '../../common/time/zoned.js';
import { boampsDocument, isBoAmpsReport, runDocument, typedValue } from './codecarbon-run.js';
import { finishDocument, type Document, type EventContext } from './document.js';

// The TTA component's emissions_*.json reports (a summary and a per-function breakdown)
// and codecarbon's own files (CSV rows and BoAmps reports: runs, codecarbon-run.ts)
// become documents whose measurements sit under `codecarbon.*` as real numbers.
// Timestamps are naive local time and are read in the configured zone.

const MAX_RAW = 4096;

export function normaliseReportRecord(record: ReportRecord, ctx: EventContext): Document {
  const r = record.report;
  if (r.part === 'summary') {
    if (isBoAmpsReport(r.fields)) return boampsDocument(r.fields, ctx, record.offset);
    const cc = scalars(r.fields);
    cc.project_name ??= ctx.projectName;
    const time = timeOf(r.fields.timestamp, ctx);
    delete cc.timestamp;
    if (time) cc.report_timestamp = time.toISOString();
    const total = toNumber(r.fields.total_emissions);
    if (total !== undefined) cc.total_emissions = total;
    const message = `codecarbon report ${str(cc.project_name) ?? ''}: total ${total ?? '?'} ${str(cc.unit) ?? ''}`.replace(/\s+/g, ' ').trim();
    return finishDocument({ message, codecarbon: cc }, ctx, 'codecarbon.report', record.offset, time);
  }
  if (r.part === 'function') {
    const entry = isObject(r.entry) ? r.entry : {};
    const cc: Record<string, unknown> = { measurement: r.key };
    cc.project_name = r.project ?? ctx.projectName;
    const fn = str(entry.function) ?? r.key.replace(/_\d{4}-\d{2}-\d{2}T[\d:.]+$/, '');
    cc.function = fn;
    const emissions = toNumber(entry.emissions);
    const tags: string[] = [];
    const fields: Record<string, unknown> = { codecarbon: cc };
    if (emissions !== undefined) cc.emissions = emissions;
    else {
      tags.push('invalid_measurement');
      fields.error = { type: 'invalid_measurement', message: `emissions is not a number: ${JSON.stringify(entry.emissions ?? null).slice(0, 200)}` };
    }
    if (str(entry.unit)) cc.unit = entry.unit;
    fields.message = `${fn} emitted ${emissions ?? '?'} ${str(entry.unit) ?? ''}`.trim();
    return finishDocument(fields, ctx, 'codecarbon.function', record.offset, timeOf(entry.timestamp, ctx), tags);
  }
  return finishDocument(
    { message: r.raw.slice(0, MAX_RAW), error: { type: 'report_parse_error', message: r.error } },
    ctx,
    'codecarbon.report',
    record.offset,
    null,
    ['invalid_report'],
  );
}

export function normaliseCsvRecord(record: CsvRecord, ctx: EventContext): Document {
  if (record.row.run_id?.trim() && !record.cells) return runDocument(record.row, 'csv', ctx, record.offset, timeOf(record.row.timestamp, ctx));
  // A row without a run_id, or with more or fewer cells than the header, is not a run
  // codecarbon wrote: kept, typed, under its offset, and flagged.
  const cc: Record<string, unknown> = {};
  for (const [column, raw] of Object.entries(record.row)) {
    if (raw.trim() === '' || column === '') continue;
    cc[column] = typedValue(column, raw);
  }
  cc.project_name ??= ctx.projectName;
  const time = timeOf(record.row.timestamp, ctx);
  delete cc.timestamp;
  if (record.cells) {
    const error = { type: 'csv_cell_count', message: `${record.cells.row} cells where the header has ${record.cells.header}` };
    return finishDocument(
      { message: `codecarbon CSV row that does not fit its header: ${error.message}`, codecarbon: cc, error },
      ctx,
      'codecarbon.csv',
      record.offset,
      time,
      ['malformed_row'],
    );
  }
  return finishDocument(
    { message: `codecarbon row without a run_id: ${cc.emissions ?? '?'} kg CO2eq`, codecarbon: cc },
    ctx,
    'codecarbon.csv',
    record.offset,
    time,
    ['no_run_id'],
  );
}

function timeOf(value: unknown, ctx: EventContext): Date | null {
  return typeof value === 'string' ? parseTimestamp(value, ctx.timeZone) : null;
}

function scalars(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || typeof v !== 'object') out[k] = v;
  }
  return out;
}

function toNumber(value: unknown): number | undefined {
  const n = typedValue('', value);
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
