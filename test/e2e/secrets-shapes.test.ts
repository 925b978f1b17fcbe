import { afterAll, describe, expect, it } from 'vitest';
import { type Corpus, INDEPENDENT_CORPUS, independentCorpus, repositoryCorpus } from '../fixtures/secrets/corpora.js';
import { builtDocuments, judge, type Placed, pieces, shapedBatches, verdictSummary, type Verdicts } from '../fixtures/secrets/shapes.js';
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

async function throughPipeline(corpus: Corpus): Promise<{ indexed: Verdicts; source: Verdicts; inMemory: Verdicts }> {
  const n = uniqueNames(`shapes-${corpus.name}`);
  names.push(n);
  const now = new Date().toISOString().slice(0, 19);
  const s = shapedBatches(corpus.secrets, `${corpus.name}-secrets`, now);
  const l = shapedBatches(corpus.looks, `${corpus.name}-looks`, now);
  const worker = await startTestWorker(n, (c) => (c.timeZone = 'UTC'));
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
    console.log(`${corpus.name} corpus through the pipeline: ${verdictSummary(indexed)} (in memory: ${verdictSummary(inMemory)})`);
    // The query can fail: what _source still holds whole, the phrase queries find.
    const searchedMissed = [...source.missed.keys()].filter((x) => hits.get(x) === true).length;
    return { indexed, source, inMemory, searchedMissed };
  } finally {
    await es.close();
  }
}

describe('secrets in every shape, through a real worker', () => {
  it('the repository corpus: every secret caught, one look-alike damaged', async () => {
    const { indexed, inMemory } = await throughPipeline(repositoryCorpus());
    expect(indexed.secrets).toBe(335);
    expect([...indexed.missed.keys()].map((x) => x.kind)).toEqual([]);
    expect([...indexed.damaged.keys()].map((x) => x.kind)).toEqual(['number']);
    expect(inMemory.missed.size).toBe(indexed.missed.size);
  }, 240_000);

  const independent = independentCorpus();
  it.skipIf(!independent)(
    `the independent corpus (${INDEPENDENT_CORPUS}): no worse than recorded, and as in memory`,
    async () => {
      const { indexed, source, inMemory, searchedMissed } = await throughPipeline(independent!);
      // Not all: a value the analyzer splits at punctuation it keeps (`super$ecret`) is no phrase.
      expect(searchedMissed, 'leaks in _source that the phrase queries find').toBeGreaterThanOrEqual(0.75 * source.missed.size);
      expect(source.missed.size).toBe(inMemory.missed.size);
      expect(source.damaged.size).toBe(inMemory.damaged.size);
      expect((source.secrets - source.missed.size) / source.secrets).toBeGreaterThanOrEqual(0.84);
      expect((indexed.secrets - indexed.missed.size) / indexed.secrets).toBeGreaterThanOrEqual(0.84);
      expect(indexed.damaged.size / indexed.looks).toBeLessThanOrEqual(0.3);
    },
    240_000,
  );
});
