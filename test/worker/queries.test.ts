import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKALIKES, SECRET_CASES } from '../fixtures/secrets.js';
import { allDocs, cleanup, esClient, uniqueNames } from '../helpers/services.js';
import { logBatch, reportBatch, startTestWorker } from '../helpers/worker.js';

// Known data through a real worker into the real cluster, then the questions a Kibana
// user asks, with answers computed independently from the input.

const names = uniqueNames('queries');
const es = esClient();
let pipeline: Awaited<ReturnType<typeof startTestWorker>>;

const DAY = 86_400_000;
const now = Date.now();
// Naive local timestamps, as codecarbon writes them; the worker reads them in UTC here.
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const dayKey = (ms: number) => new Date(ms).toISOString().slice(0, 10);

const fnPlan: [string, number, number][] = [
  // function, emissions (kg), age in ms
  ['generate_narrative', 0.003, 2 * DAY + 3_600_000],
  ['embed_scene', 0.007, 2 * DAY + 7_200_000],
  ['generate_narrative', 0.004, DAY],
  ['summarize_session', 0.0015, DAY + 60_000],
  ['embed_scene', 0.0005, 600_000],
  ['generate_narrative', 0.0025, 300_000],
];

beforeAll(async () => {
  pipeline = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
  const functions = Object.fromEntries(
    fnPlan.map(([fn, kg, age]) => [`${fn}_${naive(now - age)}`, { function: fn, timestamp: naive(now - age), emissions: kg, unit: 'kg CO2eq' }]),
  );
  await pipeline.add(
    reportBatch('report-a', { project_name: 'TTA-Staging', timestamp: naive(now - 60_000), total_emissions: 0.0185, unit: 'kg CO2eq', functions }),
  );
  const iso = (age: number) => new Date(now - age).toISOString();
  await pipeline.add(
    logBatch('log-a', [
      `{"timestamp":"${iso(120_000)}","level":"error","message":"recent error 1"}`,
      `{"timestamp":"${iso(1_800_000)}","level":"error","message":"recent error 2"}`,
      `{"timestamp":"${iso(1_900_000)}","level":"info","message":"recent info"}`,
      `{"timestamp":"${iso(7_200_000)}","level":"error","message":"old error"}`,
    ]),
  );
  const withTime = (doc: Record<string, unknown>) => JSON.stringify({ timestamp: iso(1000), ...doc });
  await pipeline.add(
    logBatch(
      'secrets',
      SECRET_CASES.map((c) => withTime(c.doc)),
    ),
  );
  await pipeline.add(logBatch('lookalikes', LOOKALIKES.map(withTime)));
  await pipeline.drained();
  await es.indices.refresh({ index: `${names.indexPrefix}-*` });
});

afterAll(async () => {
  await pipeline.stop();
  await es.close();
  await cleanup(names);
});

describe('Kibana questions on known data', () => {
  it('total emissions per day (date_histogram + sum)', async () => {
    const res = await es.search({
      index: `${names.indexPrefix}-*`,
      size: 0,
      query: { term: { 'event.dataset': 'codecarbon.function' } },
      aggs: { per_day: { date_histogram: { field: '@timestamp', calendar_interval: 'day' }, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } } },
    });
    const got = Object.fromEntries(
      (res.aggregations!.per_day as any).buckets
        .filter((b: any) => b.doc_count > 0)
        .map((b: any) => [b.key_as_string.slice(0, 10), Number(b.kg.value.toFixed(9))]),
    );
    const expected: Record<string, number> = {};
    for (const [, kg, age] of fnPlan) expected[dayKey(now - age)] = Number(((expected[dayKey(now - age)] ?? 0) + kg).toFixed(9));
    expect(got).toEqual(expected);
  });

  it('top functions by emissions (terms + sum)', async () => {
    const res = await es.search({
      index: `${names.indexPrefix}-*`,
      size: 0,
      query: { term: { 'event.dataset': 'codecarbon.function' } },
      aggs: { fns: { terms: { field: 'codecarbon.function', order: { kg: 'desc' } }, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } } },
    });
    const got = (res.aggregations!.fns as any).buckets.map((b: any) => [b.key, Number(b.kg.value.toFixed(9))]);
    expect(got).toEqual([
      ['generate_narrative', 0.0095],
      ['embed_scene', 0.0075],
      ['summarize_session', 0.0015],
    ]);
  });

  it('carbon.log errors in the last hour (range + term)', async () => {
    const res = await es.search({
      index: `${names.indexPrefix}-*`,
      size: 10,
      query: {
        bool: { filter: [{ term: { 'event.dataset': 'carbon.log' } }, { term: { 'log.level': 'error' } }, { range: { '@timestamp': { gte: 'now-1h' } } }] },
      },
    });
    expect((res.hits.hits as any[]).map((h) => h._source.message).sort()).toEqual(['recent error 1', 'recent error 2']);
  });

  it('the report summary carries the total as a number', async () => {
    const res = await es.search({ index: `${names.indexPrefix}-*`, query: { term: { 'event.dataset': 'codecarbon.report' } } });
    expect((res.hits.hits[0]!._source as any).codecarbon.total_emissions).toBe(0.0185);
  });
});

describe('secrets after indexing', () => {
  it('no planted secret can be found by search or in any stored document', async () => {
    const docs = await allDocs(`${names.indexPrefix}-*`);
    expect(docs.filter((d) => d._id.startsWith('secrets.'))).toHaveLength(SECRET_CASES.length);
    const stored = JSON.stringify(docs.map((d) => d._source));
    const found: string[] = [];
    for (const secret of SECRET_CASES.flatMap((c) => c.secrets)) {
      if (stored.includes(secret)) found.push(`${secret} (in _source)`);
      const res = await es.search({
        index: `${names.indexPrefix}-*`,
        size: 0,
        query: { query_string: { query: `"${secret.replace(/["\\]/g, '\\$&')}"`, fields: ['*'], lenient: true } },
      });
      if ((res.hits.total as { value: number }).value > 0) found.push(`${secret} (by search)`);
    }
    expect(found).toEqual([]);
  });

  it('look-alikes arrive unchanged and uncounted', async () => {
    const docs = (await allDocs(`${names.indexPrefix}-*`)).filter((d) => d._id.startsWith('lookalikes.'));
    expect(docs).toHaveLength(LOOKALIKES.length);
    // Uncounted: a document the sanitizer did not change carries no count at all.
    for (const d of docs) expect(d._source.sanitizer).toBeUndefined();
    expect(docs.some((d) => d._source.token_count === 3757)).toBe(true);
  });
});
