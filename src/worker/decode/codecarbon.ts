import type { CsvRecord, ReportRecord } from '../../common/queue/contract.js';
import { parseTimestamp } from '../../common/time/zoned.js';
import { finishDocument, type Document, type EventContext } from './document.js';

// codecarbon reports and CSV rows become documents whose measurements sit under
// `codecarbon.*` as real numbers. Timestamps are naive local time (Python's
// datetime.now().isoformat()) and are read in the configured zone.

const MAX_RAW = 4096;

export function normaliseReportRecord(record: ReportRecord, ctx: EventContext): Document {
  const r = record.report;
  if (r.part === 'summary') {
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
    ctx, 'codecarbon.report', record.offset, null, ['invalid_report'],
  );
}

// codecarbon writes on_cloud as Y/N; other booleans as True/False.
const BOOLEAN_TEXT: Record<string, boolean> = { true: true, false: false, y: true, n: false, yes: true, no: false };
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Columns that are text even when they look like numbers.
const TEXT_COLUMNS = new Set(['run_id', 'experiment_id', 'project_name', 'python_version', 'codecarbon_version', 'os', 'region', 'cloud_region', 'country_iso_code']);

export function normaliseCsvRecord(record: CsvRecord, ctx: EventContext): Document {
  const cc: Record<string, unknown> = {};
  for (const [column, raw] of Object.entries(record.row)) {
    const value = raw.trim();
    if (value === '' || column === '') continue;
    cc[column] = typedCell(column, value);
  }
  cc.project_name ??= ctx.projectName;
  const time = timeOf(record.row.timestamp, ctx);
  delete cc.timestamp;
  const message = `codecarbon run ${str(cc.run_id) ?? '?'} of ${str(cc.project_name) ?? '?'}: ${cc.emissions ?? '?'} kg CO2eq`;
  return finishDocument({ message, codecarbon: cc }, ctx, 'codecarbon.csv', record.offset, time);
}

function typedCell(column: string, value: string): unknown {
  if (TEXT_COLUMNS.has(column)) return value;
  if (NUMBER.test(value)) {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  const bool = BOOLEAN_TEXT[value.toLowerCase()];
  if (bool !== undefined && (column.startsWith('on_') || column.startsWith('is_') || /^(true|false)$/i.test(value))) return bool;
  return value;
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
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
