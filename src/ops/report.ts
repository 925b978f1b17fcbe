import type { Client } from '@elastic/elasticsearch';

// `tta-carbon report`: emissions from Elasticsearch for someone without Kibana, as a
// table, and optionally as an SVG chart of emissions per day. Sums the function
// measurements (codecarbon.function events), the finest figures codecarbon writes.

export type GroupBy = 'day' | 'function' | 'project';

export interface ReportRow {
  key: string;
  kg: number;
  measurements: number;
}

export function parseSince(text: string): number {
  const m = /^(\d+)([hdw])$/.exec(text.trim());
  if (!m) throw new Error(`--since ${JSON.stringify(text)}: expected a number and h, d or w, such as 7d`);
  return Number(m[1]) * { h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'h' | 'd' | 'w'];
}

export async function emissionsReport(client: Client, indexPrefix: string, sinceMs: number, by: GroupBy, now = new Date()): Promise<ReportRow[]> {
  const agg = by === 'day'
    ? { date_histogram: { field: '@timestamp', calendar_interval: 'day' as const, min_doc_count: 0, extended_bounds: { min: now.getTime() - sinceMs, max: now.getTime() } } }
    : { terms: { field: by === 'function' ? 'codecarbon.function' : 'codecarbon.project_name', size: 100, order: { kg: 'desc' as const } } };
  const res = await client.search({
    index: `${indexPrefix}-2*`,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { bool: { filter: [{ term: { 'event.dataset': 'codecarbon.function' } }, { range: { '@timestamp': { gte: new Date(now.getTime() - sinceMs).toISOString(), lte: now.toISOString() } } }] } },
    aggs: { groups: { ...agg, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } } },
  });
  const buckets = ((res.aggregations?.groups as { buckets?: unknown[] } | undefined)?.buckets ?? []) as { key: string | number; key_as_string?: string; doc_count: number; kg: { value: number } }[];
  return buckets.map((b) => ({
    key: by === 'day' ? (b.key_as_string ?? new Date(Number(b.key)).toISOString()).slice(0, 10) : String(b.key),
    kg: b.kg.value,
    measurements: b.doc_count,
  }));
}

export function formatReport(rows: ReportRow[], by: GroupBy): string {
  const width = Math.max(by.length, ...rows.map((r) => r.key.length));
  const lines = [`${by.padEnd(width)}  ${'kg CO2eq'.padStart(12)}  ${'measurements'.padStart(12)}`];
  for (const r of rows) lines.push(`${r.key.padEnd(width)}  ${r.kg.toFixed(6).padStart(12)}  ${String(r.measurements).padStart(12)}`);
  const total = rows.reduce((n, r) => n + r.kg, 0);
  lines.push(`${'total'.padEnd(width)}  ${total.toFixed(6).padStart(12)}  ${String(rows.reduce((n, r) => n + r.measurements, 0)).padStart(12)}`);
  return lines.join('\n');
}

/** A bar chart of kg CO2eq per day, as a standalone SVG document. */
export function chartSvg(rows: ReportRow[], title: string): string {
  const w = 800, h = 400, left = 70, bottom = 60, top = 40, right = 20;
  const max = Math.max(...rows.map((r) => r.kg), 1e-9);
  const bw = (w - left - right) / Math.max(rows.length, 1);
  const y = (kg: number) => top + (h - top - bottom) * (1 - kg / max);
  const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
  const bars = rows.map((r, i) => {
    const x = left + i * bw;
    const label = rows.length <= 31 || i % Math.ceil(rows.length / 31) === 0
      ? `<text x="${(x + bw / 2).toFixed(1)}" y="${h - bottom + 14}" font-size="10" text-anchor="end" transform="rotate(-45 ${(x + bw / 2).toFixed(1)} ${h - bottom + 14})">${esc(r.key)}</text>`
      : '';
    return `<rect class="bar" x="${(x + 2).toFixed(1)}" y="${y(r.kg).toFixed(1)}" width="${Math.max(bw - 4, 1).toFixed(1)}" height="${(h - bottom - y(r.kg)).toFixed(1)}" fill="#2e7d32"><title>${esc(r.key)}: ${r.kg.toFixed(6)} kg</title></rect>${label}`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${left}" x2="${w - right}" y1="${y(max * f).toFixed(1)}" y2="${y(max * f).toFixed(1)}" stroke="#ddd"/><text x="${left - 6}" y="${(y(max * f) + 4).toFixed(1)}" font-size="10" text-anchor="end">${(max * f).toPrecision(3)}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="24" font-size="16" text-anchor="middle">${esc(title)}</text>`,
    `<text x="16" y="${h / 2}" font-size="11" transform="rotate(-90 16 ${h / 2})" text-anchor="middle">kg CO2eq per day</text>`,
    ...ticks, ...bars,
    `<line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}" stroke="#333"/>`,
    '</svg>',
  ].join('\n');
}
