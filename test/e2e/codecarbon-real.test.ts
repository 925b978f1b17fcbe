import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecarbonPython } from '../helpers/codecarbon.js';
import { runCli } from '../helpers/cli.js';
import { allDocs, cleanup, esClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #15: the real Python codecarbon (PyPI, in the virtualenvs the test setup makes)
// writing into a directory `tta-carbon run` follows: runs in 3.x, a switch to 2.x and
// back (codecarbon renames the file to emissions.csv.bak, then emissions.csv_0.bak), an
// update-mode run flushed twice and stopped (the file rewritten in place each time),
// and a run written to the CSV, to carbon.log through LoggerOutput and as a BoAmps
// report. Python's csv module over the final files is the oracle.

const exec = promisify(execFile);
const TZ = 'Europe/Berlin';
const names = uniqueNames('ccreal');
const py3 = codecarbonPython('3.3.2');
const py2 = codecarbonPython('2.8.4');
const scripts = new URL('./codecarbon/', import.meta.url).pathname;
let dir: string;
let ccDir: string;
let run: ShipperProcess | undefined;

type Oracle = Record<string, { emissions: number; pue: number | null; wue: number | null; project: string; file: string; utc: string }>;

async function codecarbon(python: string, mode: string, project: string): Promise<void> {
  await exec(python, [join(scripts, 'runs.py'), ccDir, mode, project, join(dir, 'log', 'carbon.log')], { env: { ...process.env, TZ }, timeout: 120_000 });
}

async function oracle(): Promise<Oracle> {
  const { stdout } = await exec(py3, [join(scripts, 'final-rows.py'), ccDir], { env: { ...process.env, TZ } });
  return JSON.parse(stdout) as Oracle;
}

const runDocs = async () => (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._source.event?.dataset === 'codecarbon.run');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE);

beforeAll(async () => {
  for (const p of [py3, py2])
    if (!existsSync(p)) throw new Error(`${p} missing: the test setup installs codecarbon from PyPI (see test/helpers/codecarbon.ts)`);
  dir = await tempDir('ccreal');
  ccDir = join(dir, 'log', 'codecarbon');
  mkdirSync(ccDir, { recursive: true });
  const yaml = 'pollIntervalMs: 50\ndiscoveryIntervalMs: 200\nreportSettleMs: 300\nrotatedGraceMs: 300\nbatch:\n  lingerMs: 20';
  run = await startCliProcess('run', names, dir, yaml, { TZ, CARBON_OUTPUT_DIR: ccDir });
}, 120_000);

afterAll(async () => {
  await run?.stop('SIGKILL');
  await cleanup(names, dir ? [dir] : []);
});

describe('real codecarbon output, end to end', () => {
  let expected: Oracle;

  it('every run is one document with its final emissions, whatever files carried it', async () => {
    await codecarbon(py3, 'append', 'TTA-Staging');
    await codecarbon(py3, 'append', 'TTA-Staging');
    await codecarbon(py2, 'append', 'TTA-Staging');
    await codecarbon(py3, 'append', 'TTA-Inference');
    await codecarbon(py3, 'update', 'TTA-Training');
    await codecarbon(py3, 'logger', 'TTA-Staging');
    expect(readdirSync(ccDir).sort()).toEqual(expect.arrayContaining(['emissions.csv', 'emissions.csv.bak', 'emissions.csv_0.bak']));
    expect(readdirSync(ccDir).some((n) => n.startsWith('boamps_report_'))).toBe(true);
    expected = await oracle();
    const ids = Object.keys(expected);
    expect(ids).toHaveLength(6);
    const want = sum(Object.values(expected).map((r) => r.emissions));
    const docs = await waitFor(
      async () => {
        const d = await runDocs();
        return d.length === ids.length && relErr(sum(d.map((x) => x._source.codecarbon.emissions ?? 0)), want) <= 1e-12 ? d : null;
      },
      60_000,
      `${ids.length} run documents summing to ${want}`,
      500,
    ).catch(async (err) => {
      const d = await runDocs();
      throw new Error(
        `${(err as Error).message}; have ${d.length}: ${JSON.stringify(d.map((x) => [x._id, x._source.codecarbon.source, x._source.codecarbon.emissions]))}`,
      );
    });
    // Nothing more arrives later (no second document of a rewritten or renamed file).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await runDocs()).toHaveLength(ids.length);
    for (const d of docs) {
      const cc = d._source.codecarbon;
      const truth = expected[cc.run_id]!;
      expect(truth, cc.run_id).toBeDefined();
      expect(d._id).toBe(`run.${cc.run_id}`);
      expect(cc.emissions).toBe(truth.emissions);
      expect(cc.project_name).toBe(truth.project);
      expect(d._source['@timestamp']).toBe(truth.utc);
    }
    // The update-mode file was rewritten in place and read again, not read on from the middle.
    expect(run!.output()).toContain('file truncated or rewritten in place');
    // The LoggerOutput line is the run, not a carbon.log event with an empty message.
    const logged = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._source.event?.dataset === 'carbon.log');
    expect(logged).toEqual([]);
  }, 240_000);

  it('numbers map as doubles: pue and wue aggregate to their real values', async () => {
    const es = esClient();
    try {
      const mapping = await es.indices.getMapping({ index: `${names.indexPrefix}-2*` });
      for (const m of Object.values(mapping)) {
        const cc = (m.mappings.properties!.codecarbon as { properties: Record<string, { type: string }> }).properties;
        for (const field of ['pue', 'wue', 'water_consumed', 'cpu_utilization_percent', 'ram_used_gb', 'gpu_energy', 'emissions'])
          expect([field, cc[field]?.type]).toEqual([field, 'double']);
        expect(cc.on_cloud!.type).toBe('boolean');
      }
      const res = await es.search({
        index: `${names.indexPrefix}-2*`,
        size: 0,
        query: { term: { 'event.dataset': 'codecarbon.run' } },
        aggs: {
          maxPue: { max: { field: 'codecarbon.pue' } },
          avgPue: { avg: { field: 'codecarbon.pue' } },
          maxWue: { max: { field: 'codecarbon.wue' } },
          avgWue: { avg: { field: 'codecarbon.wue' } },
        },
      });
      const aggs = res.aggregations as Record<string, { value: number }>;
      const pue = Object.values(expected)
        .map((r) => r.pue)
        .filter((v): v is number => v !== null);
      const wue = Object.values(expected)
        .map((r) => r.wue)
        .filter((v): v is number => v !== null);
      expect(aggs.maxPue!.value).toBe(Math.max(...pue));
      expect(aggs.maxWue!.value).toBe(1.8);
      expect(aggs.maxWue!.value).toBe(Math.max(...wue));
      expect(relErr(aggs.avgPue!.value, sum(pue) / pue.length)).toBeLessThanOrEqual(1e-12);
      expect(relErr(aggs.avgWue!.value, sum(wue) / wue.length)).toBeLessThanOrEqual(1e-12);
    } finally {
      await es.close();
    }
  });

  it("report --json counts each run once and its totals are the files' sums", async () => {
    const r = await runCli(['report', '--since', '2d', '--by', 'project', '--json'], {
      TTA_ENV: names.environment,
      ELASTICSEARCH_URL: services.elasticsearchUrl,
      TZ,
    });
    expect(r.code, r.out).toBe(0);
    const report = JSON.parse(r.stdout) as {
      total: { kg: number; count: number };
      rows: { key: string; kg: number; count: number }[];
      sources: Record<string, number>;
      counted: string;
    };
    const runs = Object.values(expected);
    expect(report.counted).toBe('runs');
    expect(report.total.count).toBe(runs.length);
    expect(relErr(report.total.kg, sum(runs.map((x) => x.emissions)))).toBeLessThanOrEqual(1e-12);
    for (const project of new Set(runs.map((x) => x.project))) {
      const row = report.rows.find((x) => x.key === project)!;
      const mine = runs.filter((x) => x.project === project);
      expect(row.count).toBe(mine.length);
      expect(relErr(row.kg, sum(mine.map((x) => x.emissions)))).toBeLessThanOrEqual(1e-12);
    }
    expect(sum(Object.values(report.sources))).toBe(runs.length);
  });
});
