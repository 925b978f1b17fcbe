import { parseTimestamp } from '../../common/time/zoned.js';
import { finishDocument, type Document, type EventContext } from './document.js';

// A codecarbon run (its run_id) is one document, whatever carried it: a row of
// emissions.csv (2.x's 32 columns, 3.x's 38, whatever later versions add), a
// LoggerOutput JSON line in carbon.log, or a BoAmps report. Its _id comes from the
// run_id alone, so every source and every version of a run lands on the same
// document, and its version (external_gte) from how far the run had got: a later flush
// of a run replaces an earlier one, an earlier one arriving late is refused (409), and
// a BoAmps report, which carries no emissions, only stands in until a full record comes.

export type RunSource = 'csv' | 'log' | 'boamps';

/** The document's id for a run: the same from every source. */
export function runDocumentId(runId: string): string {
  return `run.${runId}`;
}

/**
 * External version of a run's document. A full record (CSV row, LoggerOutput line) of
 * a run that went on longer is newer; the two sources of one final record are equal;
 * any full record beats a BoAmps report of the same run.
 */
export function runVersion(source: RunSource, duration: unknown): number {
  if (source === 'boamps') return 1;
  const seconds = typeof duration === 'number' && Number.isFinite(duration) && duration > 0 ? duration : 0;
  return 2 + 2 * Math.round(seconds * 1e6);
}

/** Run documents carry what the request needs besides the body. */
export interface RunRequest {
  id: string;
  version: number;
  runId: string;
}

const runRequests = new WeakMap<Document, RunRequest>();

export function runRequestOf(doc: Document): RunRequest | undefined {
  return runRequests.get(doc);
}

/** A LoggerOutput line: codecarbon's flat record, one JSON object per run. */
export function isCodecarbonRun(obj: Record<string, unknown>): boolean {
  return typeof obj.run_id === 'string' && obj.run_id !== '' && 'emissions' in obj && ('codecarbon_version' in obj || 'emissions_rate' in obj);
}

/** A Boavizta BoAmps report written by codecarbon's OutputMethod.BOAMPS. */
export function isBoAmpsReport(obj: Record<string, unknown>): boolean {
  const header = obj.header as Record<string, unknown> | undefined;
  return isObject(header) && typeof header.reportId === 'string' && Array.isArray(obj.measures);
}

// codecarbon writes on_cloud as Y/N; other booleans as True/False.
const BOOLEAN_TEXT: Record<string, boolean> = { true: true, false: false, y: true, n: false, yes: true, no: false };
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Columns that are text even when they look like numbers.
const TEXT_COLUMNS = new Set([
  'run_id',
  'experiment_id',
  'project_name',
  'python_version',
  'codecarbon_version',
  'os',
  'region',
  'cloud_region',
  'country_iso_code',
  'country_name',
  'cpu_model',
  'gpu_model',
  'tracking_mode',
  'cloud_provider',
]);

/** A CSV cell or a JSON value as the template maps it: numbers as numbers, Y/N as booleans. */
export function typedValue(column: string, value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'boolean') return TEXT_COLUMNS.has(column) ? String(value) : value;
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (TEXT_COLUMNS.has(column)) return text;
  if (NUMBER.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  const bool = BOOLEAN_TEXT[text.toLowerCase()];
  if (bool !== undefined && (column.startsWith('on_') || column.startsWith('is_') || /^(true|false)$/i.test(text))) return bool;
  return text;
}

/**
 * The document of one version of a run from a full record (a CSV row or a LoggerOutput
 * line): every column under `codecarbon.*`, typed; empty cells and nulls left out.
 */
export function runDocument(
  record: Record<string, unknown>,
  source: Exclude<RunSource, 'boamps'>,
  ctx: EventContext,
  offset: number,
  time: Date | null,
): Document {
  const cc: Record<string, unknown> = {};
  for (const [column, raw] of Object.entries(record)) {
    if (column === '' || raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '')) continue;
    if (typeof raw === 'object') continue;
    cc[column] = typedValue(column, raw);
  }
  cc.project_name ??= ctx.projectName;
  delete cc.timestamp;
  cc.source = source;
  const runId = String(cc.run_id);
  const message = `codecarbon run ${runId} of ${String(cc.project_name)}: ${cc.emissions ?? '?'} kg CO2eq`;
  const doc = finishDocument({ message, codecarbon: cc }, ctx, 'codecarbon.run', offset, time);
  runRequests.set(doc, { id: runDocumentId(runId), version: runVersion(source, cc.duration), runId });
  return doc;
}

/**
 * A BoAmps report: the run's energy (kWh) and duration, and what it ran on, but no
 * emissions. Its document stands for the run until a CSV row or a LoggerOutput line of
 * the same run (which BoAmps calls its reportId) replaces it.
 */
export function boampsDocument(report: Record<string, unknown>, ctx: EventContext, offset: number): Document {
  const header = report.header as Record<string, unknown>;
  const runId = String(header.reportId);
  const measure = (report.measures as unknown[]).find((m) => isObject(m) && m.measurementMethod === 'codecarbon') ?? (report.measures as unknown[])[0];
  const m = isObject(measure) ? measure : {};
  const cc: Record<string, unknown> = { run_id: runId, project_name: ctx.projectName, source: 'boamps' };
  const energy = typedValue('energy_consumed', m.powerConsumption);
  if (typeof energy === 'number') cc.energy_consumed = energy;
  const duration = typedValue('duration', m.measurementDuration);
  if (typeof duration === 'number') cc.duration = duration;
  if (typeof m.version === 'string') cc.codecarbon_version = m.version;
  const system = report.system as Record<string, unknown> | undefined;
  if (isObject(system) && typeof system.os === 'string') cc.os = system.os;
  const environment = report.environment as Record<string, unknown> | undefined;
  if (isObject(environment) && typeof environment.country === 'string') cc.country_name = environment.country;
  const when = typeof m.measurementDateTime === 'string' ? m.measurementDateTime : header.reportDatetime;
  const time = typeof when === 'string' ? parseTimestamp(when.replace(' ', 'T'), ctx.timeZone) : null;
  const message = `codecarbon run ${runId} (BoAmps report): ${cc.energy_consumed ?? '?'} kWh`;
  const doc = finishDocument({ message, codecarbon: cc }, ctx, 'codecarbon.run', offset, time);
  runRequests.set(doc, { id: runDocumentId(runId), version: runVersion('boamps', undefined), runId });
  return doc;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
