import type { Client } from '@elastic/elasticsearch';
import { HOUR_MS } from './unusual.js';

// The questions asked of the indexed codecarbon runs (event.dataset codecarbon.run:
// one document per run, its newest version), by the worker's gauges and by `report`.

export const RUN_DATASET = 'codecarbon.run';

/** Sum of run emissions per project in (to - windowMs, to]. */
export async function emissionsByProject(client: Client, indexPrefix: string, to: Date, windowMs: number): Promise<Map<string, number>> {
  const res = await client.search({
    index: `${indexPrefix}-2*`,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: {
      bool: {
        filter: [
          { term: { 'event.dataset': RUN_DATASET } },
          { range: { '@timestamp': { gt: new Date(to.getTime() - windowMs).toISOString(), lte: to.toISOString() } } },
        ],
      },
    },
    aggs: { projects: { terms: { field: 'codecarbon.project_name', size: 1000 }, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } } },
  });
  const buckets = (res.aggregations?.projects as { buckets?: { key: string; kg: { value: number } }[] } | undefined)?.buckets ?? [];
  return new Map(buckets.map((b) => [String(b.key), b.kg.value]));
}

/**
 * Each project's run emissions per hour over [from, to), `from` and `to` a whole number
 * of hours apart: hour i covers [from + i h, from + (i+1) h). Hours without runs are 0.
 */
export async function hourlyByProject(client: Client, indexPrefix: string, from: Date, to: Date): Promise<Map<string, number[]>> {
  const hours = Math.round((to.getTime() - from.getTime()) / HOUR_MS);
  const offset = ((from.getTime() % HOUR_MS) + HOUR_MS) % HOUR_MS;
  const res = await client.search({
    index: `${indexPrefix}-2*`,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { bool: { filter: [{ term: { 'event.dataset': RUN_DATASET } }, { range: { '@timestamp': { gte: from.toISOString(), lt: to.toISOString() } } }] } },
    aggs: {
      projects: {
        terms: { field: 'codecarbon.project_name', size: 1000 },
        aggs: {
          hours: {
            date_histogram: { field: '@timestamp', fixed_interval: '1h', offset: `${offset}ms`, min_doc_count: 1 },
            aggs: { kg: { sum: { field: 'codecarbon.emissions' } } },
          },
        },
      },
    },
  });
  type Hour = { key: number; kg: { value: number } };
  const projects = (res.aggregations?.projects as { buckets?: { key: string; hours: { buckets: Hour[] } }[] } | undefined)?.buckets ?? [];
  const out = new Map<string, number[]>();
  for (const p of projects) {
    const series = new Array<number>(hours).fill(0);
    for (const h of p.hours.buckets) {
      const i = Math.round((h.key - from.getTime()) / HOUR_MS);
      if (i >= 0 && i < hours) series[i] = h.kg.value;
    }
    out.set(String(p.key), series);
  }
  return out;
}
