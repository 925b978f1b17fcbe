import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { cleanLabels } from '../../src/common/metrics/http.js';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { Sanitizer } from '../../src/worker/sanitize/sanitizer.js';
import { type Corpus, INDEPENDENT_CORPUS, independentCorpus, repositoryCorpus } from '../fixtures/secrets/corpora.js';
import { builtDocuments, judge, type Placed, pieces, type Sample, shapedBatches, verdictSummary } from '../fixtures/secrets/shapes.js';
import { cleanup, esClient, uniqueNames } from '../helpers/services.js';
import { startTestWorker } from '../helpers/worker.js';

// Issue #33: both corpora, every sample in every shape our inputs have (shapes.ts),
// through a real worker into the real Elasticsearch. A secret is missed when a piece of
// it is in a document's _source at its place, or a phrase query on all fields finds it.
// What Elasticsearch holds must give the verdict eval:secrets gives in memory, and the
// figures may not fall below where they stand (README's table). The independent corpus
// is extracted on demand (tools/secrets-corpus.py); without it that part is skipped.

const names: ReturnType<typeof uniqueNames>[] = [];
afterAll(async () => {
  for (const n of names) await cleanup(n);
});

async function throughPipeline(corpus: Corpus) {
  const n = uniqueNames(`shapes-${corpus.name}`);
  names.push(n);
  const now = new Date().toISOString().slice(0, 19);
  const s = shapedBatches(corpus.secrets, `${corpus.name}-secrets`, now);
  const l = shapedBatches(corpus.looks, `${corpus.name}-looks`, now);
  // The worker's own metrics (report function names become labels) and logs, with
  // every sample echoed back in an error and as a path label, as a process's are.
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
  const clean = (t: string) => sanitizer.sanitizeString(t).text;
  const logger = createLogger({ level: 'debug', destination: sink, clean });
  const metrics = createMetrics({ environment: n.environment, role: 'worker' });
  corpus.secrets.forEach((x, i) => {
    logger.warn({ sample: i, err: new Error(`upload failed with ${x.text}`), detail: { input: x.text } }, `retrying ${x.text}`);
    metrics.fileSize.set({ path: `/var/log/tta/sample-${i}/${x.text}.log` }, 1);
  });
  const worker = await startTestWorker(n, (c) => (c.timeZone = 'UTC'), { metrics, logger });
  for (const b of [...s.batches, ...l.batches]) await worker.add(b);
  await worker.finish(120_000);
  const es = esClient();
  try {
    const docs: Record<string, unknown>[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      const res = await es.search({
        index: `${n.indexPrefix}-2*`,
        size: 5000,
        sort: ['_doc'],
        ...(after ? { search_after: after as never } : {}),
        query: { match_all: {} },
      });
      for (const h of res.hits.hits) docs.push(h._source as Record<string, unknown>);
      if (res.hits.hits.length < 5000) break;
      after = res.hits.hits.at(-1)!.sort;
    }
    // One phrase query a secret, over its pieces, in the documents its placements made:
    // a value two samples share is judged by where each was written, not twice.
    const where = new Map<unknown, Placed[]>();
    for (const p of s.placed) where.set(p.sample, [...(where.get(p.sample) ?? []), p]);
    const searched = corpus.secrets.map((x) => ({
      size: 0,
      query: {
        bool: {
          filter: [
            {
              bool: {
                should: (where.get(x) ?? []).map((p) => ({ bool: { filter: [{ term: { 'log.file.path': p.path } }, { term: { 'log.offset': p.offset } }] } })),
                minimum_should_match: 1,
              },
            },
          ],
          minimum_should_match: 1,
          should: pieces(x)
            .slice(0, 3)
            .map((p) => ({ multi_match: { query: p, type: 'phrase' as const, fields: ['*'], lenient: true } })),
        },
      },
    }));
    const hits = new Map<unknown, boolean>();
    for (let i = 0; i < searched.length; i += 200) {
      const r = await es.msearch({ index: `${n.indexPrefix}-2*`, searches: searched.slice(i, i + 200).flatMap((q) => [{}, q]) });
      r.responses.forEach((x, j) => {
        const total = 'hits' in x ? (typeof x.hits.total === 'number' ? x.hits.total : (x.hits.total?.value ?? 0)) : 1;
        hits.set(corpus.secrets[i + j], total > 0);
      });
    }
    const indexed = judge(docs, s.placed, l.placed, (p) => hits.get(p.sample) === true);
    const source = judge(docs, s.placed, l.placed);
    const inMemory = judge(builtDocuments([...s.batches, ...l.batches]), s.placed, l.placed);
    if (process.env.SECRETS_DEBUG)
      for (const [x] of indexed.missed) if (!inMemory.missed.has(x)) console.log('FOUND BY A QUERY', x.kind, JSON.stringify(pieces(x).slice(0, 3)));
    console.log(`${corpus.name} corpus through the pipeline: ${verdictSummary(indexed)} (in memory: ${verdictSummary(inMemory)})`);
    // The query can fail: what _source still holds whole, the phrase queries find.
    // A report's function name is one token with its `upload_` prefix, which no phrase of
    // the value matches: leaks only there are in _source alone.
    const unsearched = [...source.missed].filter(([x, shapes]) => shapes.some((shape) => shape !== 'report') && hits.get(x) !== true).map(([x]) => x);
    const exposition = cleanLabels(await metrics.registry.metrics(), clean);
    expect(exposition).toContain('carbon_function_emissions_kg_total');
    // Each sample's pieces found in its own log line or path label. Function labels are
    // the documents' function names (tally.ts), whose leaks the documents' verdict holds:
    // checked to be exactly those, cleaned.
    const own = (i: number) => [
      ...lines.filter((line) => line.includes(`"sample":${i},`)),
      ...exposition.split('\n').filter((line) => line.includes(`path="/var/log/tta/sample-${i}/`)),
    ];
    const inOwnOutput = new Map<Sample, string[]>();
    corpus.secrets.forEach((x, i) => {
      const text = own(i).join('\n');
      const found = pieces(x).filter((p) => text.includes(p));
      if (found.length > 0) inOwnOutput.set(x, found);
    });
    const functions = new Set(
      docs.flatMap((d) => {
        const f = (d.codecarbon as { function?: string } | undefined)?.function;
        return f === undefined ? [] : [clean(f)];
      }),
    );
    const unescaped = (v: string) => v.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    const labels = [...exposition.matchAll(/^carbon_function_emissions_kg_total\{.*?function="((?:[^"\\]|\\.)*)"/gm)].map((m) => unescaped(m[1]!));
    expect(labels.length).toBeGreaterThan(0);
    expect(
      labels.filter((label) => !functions.has(label)),
      'function labels that are no document function',
    ).toEqual([]);
    if (process.env.SECRETS_DEBUG)
      for (const [x, found] of inOwnOutput)
        for (const line of own(corpus.secrets.indexOf(x))) if (found.some((p) => line.includes(p))) console.log('OWN', x.kind, line.slice(0, 300));
    return { indexed, source, inMemory, unsearched, inOwnOutput };
  } finally {
    await es.close();
  }
}

describe('secrets in every shape, through a real worker', () => {
  it('the repository corpus: every secret caught, one look-alike damaged', async () => {
    const { indexed, inMemory, inOwnOutput } = await throughPipeline(repositoryCorpus());
    expect(
      [...inOwnOutput.keys()].map((x) => x.kind),
      'in /metrics or the logs',
    ).toEqual([]);
    expect(indexed.secrets).toBe(335);
    expect([...indexed.missed.keys()].map((x) => x.kind)).toEqual([]);
    expect([...indexed.damaged.keys()].map((x) => x.kind)).toEqual(['number']);
    expect(inMemory.missed.size).toBe(indexed.missed.size);
  }, 240_000);

  const independent = independentCorpus();
  it.skipIf(!independent)(
    `the independent corpus (${INDEPENDENT_CORPUS}): recall 99 %, damage 1 %, and as in memory`,
    async () => {
      const { indexed, source, inMemory, unsearched, inOwnOutput } = await throughPipeline(independent!);
      // The one cleaner: a sample's log line and label leak only when its documents do.
      // A value the sample also spells where it is no secret (`password 'password'`) stays
      // in a log line by that spelling: judge() asks such samples for a redaction instead.
      const spelledTwice = (x: { text: string; values: string[] }) => x.values.some((v) => x.text.split(v).length > 2);
      const extra = [...inOwnOutput.keys()].filter((x) => !inMemory.missed.has(x) && !spelledTwice(x));
      if (process.env.SECRETS_DEBUG) for (const x of extra) console.log('EXTRA', x.kind, JSON.stringify(x.text.slice(0, 160)));
      expect(
        extra.map((x) => `${x.kind}: ${x.text.slice(0, 60)}`),
        'in /metrics or the logs, caught in documents',
      ).toEqual([]);
      expect(
        unsearched.map((x) => `${x.kind}: ${x.text.slice(0, 60)}`),
        'leaks in a log line, JSON or CSV field that the phrase queries do not find',
      ).toEqual([]);
      expect(source.missed.size).toBe(inMemory.missed.size);
      expect(source.damaged.size).toBe(inMemory.damaged.size);
      // Issue #33's bar, on this corpus as on the repository's.
      expect((source.secrets - source.missed.size) / source.secrets).toBeGreaterThanOrEqual(0.99);
      expect((indexed.secrets - indexed.missed.size) / indexed.secrets).toBeGreaterThanOrEqual(0.99);
      expect(indexed.damaged.size / indexed.looks).toBeLessThanOrEqual(0.01);
    },
    240_000,
  );
});
