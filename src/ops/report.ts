import type { Client } from '@elastic/elasticsearch';
import ms from 'ms';
import { hourlyByProject } from '../common/emissions/queries.js';
import { HISTORY_HOURS, HOUR_MS, judgeHours } from '../common/emissions/unusual.js';

// `tta-carbon report`: emissions from Elasticsearch for someone without Kibana. Totals
// are codecarbon runs (codecarbon.run documents: one per run_id, whatever file carried
// it, its newest version), so no run is counted twice across the CSV, carbon.log and
// BoAmps. `--by function` is the TTA component's per-function breakdown instead
// (codecarbon.function events), which measures the same work another way: the two are
// never added together.

export const GROUPS = ['day', 'hour', 'project', 'experiment', 'function'] as const;
export type GroupBy = (typeof GROUPS)[number];

export interface ReportRow {
  key: string;
  kg: number;
  /** Runs, or function measurements for --by function. */
  count: number;
  /** --by hour and day: projects with an unusual hour in it (common/emissions/unusual.ts). */
  unusual?: Unusual[];
}

export interface Unusual {
  project: string;
  /** Start of the unusual hour. */
  hour: string;
  kg: number;
  usualKg: number;
  ratio: number;
}

export interface EmissionsReport {
  by: GroupBy;
  /** What was summed: codecarbon runs, or the TTA component's function measurements. */
  counted: 'runs' | 'function measurements';
  from: string;
  to: string;
  rows: ReportRow[];
  total: { kg: number; count: number };
  /** Runs by the file that carried their newest version (csv, log, boamps). */
  sources: Record<string, number>;
  /** Runs known only from a BoAmps report, which carries energy but no emissions. */
  runsWithoutEmissions: number;
}

/** `--since`: a duration as ms reads it (`7d`, `36h`, `2w`, `90m`, `1.5 days`); a bare number is refused, it has no unit. */
export function parseSince(text: string): number {
  const value = /[a-z]\s*$/i.test(text) ? ms(text.trim() as ms.StringValue) : undefined;
  if (value === undefined || !Number.isFinite(value) || value <= 0)
    throw new Error(`--since ${JSON.stringify(text)}: expected a duration such as 7d, 36h, 2w or 90m`);
  return value;
}

const GROUP_FIELD: Record<Exclude<GroupBy, 'day' | 'hour'>, string> = {
  project: 'codecarbon.project_name',
  experiment: 'codecarbon.experiment_id',
  function: 'codecarbon.function',
};

export async function emissionsReport(
  client: Client,
  indexPrefix: string,
  sinceMs: number,
  by: GroupBy,
  opts: { now?: Date; timeZone?: string } = {},
): Promise<EmissionsReport> {
  const now = opts.now ?? new Date();
  const from = new Date(now.getTime() - sinceMs);
  const dataset = by === 'function' ? 'codecarbon.function' : 'codecarbon.run';
  const groups =
    by === 'day' || by === 'hour'
      ? {
          date_histogram: {
            field: '@timestamp',
            calendar_interval: by,
            time_zone: opts.timeZone ?? 'UTC',
            min_doc_count: 0,
            extended_bounds: { min: from.getTime(), max: now.getTime() },
          },
        }
      : { terms: { field: GROUP_FIELD[by], size: 1000, missing: '(none)', order: { kg: 'desc' as const } } };
  const res = await client.search({
    index: `${indexPrefix}-2*`,
    size: 0,
    track_total_hits: true,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { bool: { filter: [{ term: { 'event.dataset': dataset } }, { range: { '@timestamp': { gte: from.toISOString(), lte: now.toISOString() } } }] } },
    aggs: {
      groups: { ...groups, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } },
      kg: { sum: { field: 'codecarbon.emissions' } },
      sources: { terms: { field: 'codecarbon.source', size: 10 } },
      without: { missing: { field: 'codecarbon.emissions' } },
    },
  });
  const aggs = (res.aggregations ?? {}) as Record<string, { buckets?: Bucket[]; value?: number; doc_count?: number }>;
  const rows: ReportRow[] = (aggs.groups?.buckets ?? []).map((b) => ({
    key:
      by === 'day'
        ? (b.key_as_string ?? new Date(Number(b.key)).toISOString()).slice(0, 10)
        : by === 'hour'
          ? hourKey(Number(b.key), opts.timeZone)
          : String(b.key),
    kg: b.kg.value,
    count: b.doc_count,
  }));
  if (by === 'day' || by === 'hour') {
    const flagged = await unusualHours(client, indexPrefix, from, now);
    for (const row of rows) {
      const mine = flagged.filter((u) => (by === 'hour' ? hourKey(Date.parse(u.hour), opts.timeZone) : dayKey(Date.parse(u.hour), opts.timeZone)) === row.key);
      if (mine.length > 0) row.unusual = mine;
    }
  }
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
  return {
    by,
    counted: by === 'function' ? 'function measurements' : 'runs',
    from: from.toISOString(),
    to: now.toISOString(),
    rows,
    total: { kg: aggs.kg?.value ?? 0, count: total },
    sources: Object.fromEntries((aggs.sources?.buckets ?? []).map((b) => [String(b.key), b.doc_count])),
    runsWithoutEmissions: by === 'function' ? 0 : (aggs.without?.doc_count ?? 0),
  };
}

/**
 * The hours in [from, to) in which a project emitted unusually (the rule of
 * common/emissions/unusual.ts), each judged against the week before it.
 */
export async function unusualHours(client: Client, indexPrefix: string, from: Date, to: Date): Promise<Unusual[]> {
  const start = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  const end = Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS;
  const hourly = await hourlyByProject(client, indexPrefix, new Date(start - HISTORY_HOURS * HOUR_MS), new Date(end));
  const out: Unusual[] = [];
  for (const [project, hours] of hourly) {
    judgeHours(hours, HISTORY_HOURS).forEach((j, i) => {
      if (j.unusual) out.push({ project, hour: new Date(start + i * HOUR_MS).toISOString(), kg: j.kg, usualKg: j.usualKg!, ratio: j.ratio! });
    });
  }
  return out.sort((a, b) => a.hour.localeCompare(b.hour) || b.ratio - a.ratio);
}

/** "2026-12-01 14:00" in the report's zone. */
function hourKey(ms: number, timeZone = 'UTC'): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:00`;
}

function dayKey(ms: number, timeZone = 'UTC'): string {
  return hourKey(ms, timeZone).slice(0, 10);
}

interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  kg: { value: number };
}

/** The unit the largest figure reads best in: runs of seconds emit micrograms to grams. */
export function unitFor(kgValues: number[]): { name: string; factor: number } {
  const max = Math.max(0, ...kgValues.map(Math.abs));
  if (max >= 1) return { name: 'kg', factor: 1 };
  if (max >= 1e-3) return { name: 'g', factor: 1e3 };
  if (max >= 1e-6) return { name: 'mg', factor: 1e6 };
  return { name: 'µg', factor: 1e9 };
}

/** Four significant digits, without exponent notation or trailing zeros noise. */
export function formatAmount(value: number): string {
  if (value === 0) return '0';
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 12));
}

export function formatReport(report: EmissionsReport): string {
  const unit = unitFor([...report.rows.map((r) => r.kg), report.total.kg]);
  const countTitle = report.counted === 'runs' ? 'runs' : 'measurements';
  const head = report.by;
  const width = Math.max(head.length, 'total'.length, ...report.rows.map((r) => r.key.length));
  const amountTitle = `${unit.name} CO2eq`;
  const line = (key: string, kg: number, count: number) =>
    `${key.padEnd(width)}  ${formatAmount(kg * unit.factor).padStart(12)}  ${String(count).padStart(12)}`;
  const lines = [`${head.padEnd(width)}  ${amountTitle.padStart(12)}  ${countTitle.padStart(12)}`];
  const flag = (r: ReportRow) =>
    r.unusual
      ? `  unusual: ${r.unusual.map((u) => `${u.project} ${u.ratio.toFixed(1)}x its usual hour${report.by === 'day' ? ` at ${u.hour.slice(11, 16)}Z` : ''}`).join(', ')}`
      : '';
  for (const r of report.rows) lines.push(line(r.key, r.kg, r.count) + flag(r));
  lines.push(line('total', report.total.kg, report.total.count));
  lines.push('');
  if (report.total.count === 0) lines.push(`no ${report.counted} between ${report.from} and ${report.to}`);
  else if (report.counted === 'runs') {
    const sources = Object.entries(report.sources)
      .map(([s, n]) => `${n} from ${s}`)
      .join(', ');
    lines.push(`counted: ${report.total.count} codecarbon runs, each once (${sources})`);
    if (report.runsWithoutEmissions > 0) lines.push(`${report.runsWithoutEmissions} of them known only from a BoAmps report, which has no emissions figure`);
  } else lines.push(`counted: ${report.total.count} function measurements from the TTA component's emissions_*.json reports (not added to runs)`);
  return lines.join('\n');
}
