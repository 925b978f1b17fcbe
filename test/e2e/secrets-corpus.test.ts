import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { cleanLabels } from '../../src/common/metrics/http.js';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { Sanitizer } from '../../src/worker/sanitize/sanitizer.js';
import { lookAlikes, plantedSecrets, type Planted } from '../fixtures/secrets/corpus.js';
import { cleanup, esClient, uniqueNames } from '../helpers/services.js';
import { csvBatch, logBatch, reportBatch, startTestWorker } from '../helpers/worker.js';

// Issue #16: the repository's corpus of synthetic secrets (test/fixtures/secrets) through
// a real worker into the real Elasticsearch, in log lines, JSON lines (values at any
// depth), CSV cells, and report function names and keys. A secret counts as caught only
// when no piece of it is in any document's _source, none is found by a phrase query on
// all fields, and none by a term query on the keyword fields; a look-alike is damaged
// when its document's message is not its text. The exact counts are asserted per kind.

const names = uniqueNames('secrets');
const planted = plantedSecrets();
const looks = lookAlikes();
const logLines: string[] = [];
const metrics = createMetrics({ environment: names.environment, role: 'worker' });

/** The pieces of a secret that must not survive: the value, its long runs, a card's digits. */
function pieces(p: Planted): string[] {
  const runs = p.value
    .replace(/-----(?:BEGIN|END)[A-Z ]+-----/g, ' ')
    .split(/\s+/)
    .filter((x) => x.length >= 8);
  const digits = p.value.replace(/[ -]/g, '');
  return [...new Set([p.value, ...runs, ...(/^\d{13,19}$/.test(digits) ? [digits] : [])])];
}

// One of each kind that is a secret by its format alone, written on one line, also goes
// into a CSV cell and into a report's function name and key.
const singleLine = planted.filter((p) => !/\s/.test(p.value) && !p.keyed);
const sampleOfKind = [...new Map(singleLine.map((p) => [p.kind, p])).values()];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
  const logger = createLogger({ level: 'debug', destination: sink, clean: (t) => sanitizer.sanitizeString(t).text });
  // What a process's own logs carry: error messages and inputs echoed back.
  for (const p of planted) logger.warn({ err: new Error(`upload failed with ${p.keyed ? p.text : p.value}`), detail: { input: p.text } }, `retrying ${p.text}`);
  const worker = await startTestWorker(names, (c) => (c.timeZone = 'UTC'), { metrics, logger });
  await worker.add(
    logBatch(
      'planted',
      planted.map((p) => p.text),
    ),
  );
  await worker.add(
    logBatch(
      'looks',
      looks.map((l) => l.text),
    ),
  );
  const now = new Date().toISOString().slice(0, 19);
  await worker.add(
    csvBatch(
      'cells',
      sampleOfKind.map((p, i) => ({
        timestamp: now,
        project_name: 'TTA-Staging',
        run_id: `5ec0e700-0000-4000-8000-${String(i).padStart(12, '0')}`,
        duration: '1',
        emissions: '0.001',
        note: p.value,
      })),
    ),
  );
  const functions = Object.fromEntries(
    sampleOfKind.map((p) => [`upload_${p.value}_${now}`, { function: `upload_${p.value}`, timestamp: now, emissions: 0.0001, unit: 'kg CO2eq' }]),
  );
  await worker.add(reportBatch('functions', { project_name: 'TTA-Staging', timestamp: now, total_emissions: 0.01, unit: 'kg CO2eq', functions }));
  await worker.finish(60_000);
}, 120_000);

afterAll(async () => {
  await cleanup(names);
});

describe('the secrets corpus through the pipeline', () => {
  it(`catches every planted secret (${planted.length} of ${new Set(planted.map((p) => p.kind)).size} kinds) and damages one look-alike of ${looks.length}`, async () => {
    const es = esClient();
    try {
      const res = await es.search({ index: `${names.indexPrefix}-2*`, size: 10_000, query: { match_all: {} } });
      const sources = res.hits.hits.map((h) => JSON.stringify(h._source));
      const all = sources.join('\n');
      const mapping = await es.indices.getMapping({ index: `${names.indexPrefix}-2*` });
      const keywords = new Set<string>();
      const walk = (props: Record<string, { type?: string; properties?: Record<string, unknown> }>, prefix: string) => {
        for (const [k, v] of Object.entries(props)) {
          if (v.properties) walk(v.properties as typeof props, `${prefix}${k}.`);
          else if (v.type === 'keyword') keywords.add(`${prefix}${k}`);
        }
      };
      for (const m of Object.values(mapping)) walk(m.mappings.properties as never, '');
      const searches = planted.flatMap((p) =>
        pieces(p)
          .slice(0, 3)
          .flatMap((piece) => [
            {},
            {
              size: 0,
              query: {
                bool: {
                  should: [
                    { multi_match: { query: piece, type: 'phrase' as const, fields: ['*'], lenient: true } },
                    ...[...keywords].map((f) => ({ term: { [f]: piece } })),
                  ],
                },
              },
            },
          ]),
      );
      const found = (await es.msearch({ index: `${names.indexPrefix}-2*`, searches })).responses.map((r) =>
        'hits' in r ? (typeof r.hits.total === 'number' ? r.hits.total : (r.hits.total?.value ?? 0)) : -1,
      );
      let at = 0;
      const missedByKind: Record<string, number> = {};
      for (const p of planted) {
        const ps = pieces(p);
        const searched = found.slice(at, at + Math.min(3, ps.length));
        at += Math.min(3, ps.length);
        const leaked = ps.some((x) => all.includes(x)) || searched.some((n) => n !== 0);
        if (leaked) missedByKind[p.kind] = (missedByKind[p.kind] ?? 0) + 1;
        if (leaked && process.env.SECRETS_DEBUG)
          console.log(
            'LEAK',
            p.kind,
            ps.filter((x) => all.includes(x)).map((x) => sources.find((d) => d.includes(x))!.slice(0, 300)),
            searched,
          );
      }
      // A look-alike is damaged when its document had anything redacted.
      const redactions = new Map(res.hits.hits.map((h) => [h._id, (h._source as { sanitizer?: { redactions?: number } }).sanitizer?.redactions ?? 0]));
      const damagedByKind: Record<string, number> = {};
      let offset = 0;
      for (const l of looks) {
        const n = redactions.get(`looks.${offset}.0`);
        expect(n, l.text).toBeDefined();
        if (n! > 0) damagedByKind[l.kind] = (damagedByKind[l.kind] ?? 0) + 1;
        offset += Buffer.byteLength(l.text) + 1;
      }
      const caught = planted.length - Object.values(missedByKind).reduce((a, b) => a + b, 0);
      const damaged = Object.values(damagedByKind).reduce((a, b) => a + b, 0);
      console.log(
        `secrets corpus: ${caught} of ${planted.length} planted secrets caught (${((100 * caught) / planted.length).toFixed(1)} %), ${damaged} of ${looks.length} look-alikes damaged (${((100 * damaged) / looks.length).toFixed(1)} %)`,
        { missedByKind, damagedByKind },
      );
      expect(missedByKind).toEqual({});
      // A Luhn-valid 16-digit number with a card issuer's prefix is a card number as far as anyone can tell.
      expect(damagedByKind).toEqual({ number: 1 });
      // CSV cells and report function names and keys were among the documents.
      expect(res.hits.hits.filter((h) => (h._source as { event: { dataset: string } }).event.dataset === 'codecarbon.function')).toHaveLength(
        sampleOfKind.length,
      );
      expect(res.hits.hits.filter((h) => (h._source as { event: { dataset: string } }).event.dataset === 'codecarbon.run')).toHaveLength(sampleOfKind.length);
    } finally {
      await es.close();
    }
  });

  it('no secret of the corpus is in /metrics or in the process logs', async () => {
    const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
    // A label made from an input path, as the shipper's are.
    metrics.fileSize.set({ path: `/var/log/tta/${sampleOfKind.find((p) => p.kind === 'github_pat')!.value}.log` }, 1);
    const exposition0 = cleanLabels(await metrics.registry.metrics(), (t) => sanitizer.sanitizeString(t).text);
    const exposition = exposition0;
    if (process.env.SECRETS_DEBUG)
      for (const p of planted)
        for (const piece of pieces(p))
          if (exposition.includes(piece))
            console.log(
              'METRIC',
              p.kind,
              exposition.split('\n').filter((l) => l.includes(piece)),
            );
    expect(exposition).toContain('carbon_function_emissions_kg_total');
    const logs = logLines.join('');
    for (const p of planted)
      for (const piece of pieces(p)) {
        expect(exposition.includes(piece), `${p.kind} in /metrics`).toBe(false);
        expect(logs.includes(piece), `${p.kind} in the logs`).toBe(false);
      }
  });
});
