import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCommand } from '../../src/services/debian.js';
import { formatAmount, parseSince, unitFor } from '../../src/ops/report.js';
import { runCli } from '../helpers/cli.js';
import { cleanup, esClient, services, tempDir, uniqueNames } from '../helpers/services.js';
import { csvBatch, reportBatch, startTestWorker } from '../helpers/worker.js';

// Known runs and function measurements through a real worker, then `tta-carbon report`
// as an operator runs it. Runs arrive in several versions and from several files; each
// must count once, at its newest version.

const names = uniqueNames('report');
const empty = uniqueNames('reportempty');
const DAY = 86_400_000;
const now = Date.now();
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const functions: [string, number, number][] = [
  ['generate_narrative', 0.004, 2 * DAY],
  ['embed_scene', 0.001, 2 * DAY + 60_000],
  ['generate_narrative', 0.002, DAY],
  ['generate_narrative', 0.003, 600_000],
];
// The newest run is minutes old, but never of yesterday: run in the first minutes after
// midnight UTC, it fell on the day of the run of one day before (CI of 0b954bf, 00:07).
const RECENT = Math.min(600_000, Math.floor((now % DAY) / 2));
// run id, project, experiment, kg, age
const runs: [string, string, string, number, number][] = [
  ['0b0c8a52-0000-4000-8000-000000000001', 'TTA-Staging', 'exp-a', 0.0000088, 2 * DAY],
  ['0b0c8a52-0000-4000-8000-000000000002', 'TTA-Staging', 'exp-a', 0.0000121, DAY],
  ['0b0c8a52-0000-4000-8000-000000000003', 'TTA-Training', 'exp-b', 0.0000302, RECENT],
];
const row = (id: string, project: string, experiment: string, kg: number, age: number, duration: number) => ({
  timestamp: naive(now - age),
  project_name: project,
  run_id: id,
  experiment_id: experiment,
  duration: String(duration),
  emissions: String(kg),
  pue: '1.0',
});
let dir: string;

function report(args: string[], env = names) {
  return runCli(['report', ...args], { TTA_ENV: env.environment, ELASTICSEARCH_URL: services.elasticsearchUrl, TZ: 'UTC' });
}

beforeAll(async () => {
  dir = await tempDir('report');
  const pipeline = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
  const fns = Object.fromEntries(
    functions.map(([fn, kg, age]) => [`${fn}_${naive(now - age)}`, { function: fn, timestamp: naive(now - age), emissions: kg, unit: 'kg CO2eq' }]),
  );
  await pipeline.add(
    reportBatch('report-known', { project_name: 'TTA-Staging', timestamp: naive(now), total_emissions: 0.01, unit: 'kg CO2eq', functions: fns }),
  );
  // Each run first as an early flush (half its emissions), then final; the last run a
  // third time from a second file, as a .bak copy of the same rows would be.
  await pipeline.add(
    csvBatch(
      'csv-early',
      runs.map(([id, p, e, kg, age]) => row(id, p, e, kg / 2, age, 1)),
    ),
  );
  await pipeline.add(
    csvBatch(
      'csv-final',
      runs.map(([id, p, e, kg, age]) => row(id, p, e, kg, age, 3)),
    ),
  );
  await pipeline.drained();
  const [id, p, e, kg, age] = runs[2]!;
  await pipeline.add(csvBatch('csv-bak', [row(id, p, e, kg / 2, age, 1), row(id, p, e, kg, age, 3)]));
  await pipeline.drained();
  await pipeline.stop();
  const es = esClient();
  await es.indices.refresh({ index: `${names.indexPrefix}-*` });
  await es.close();
});

afterAll(async () => {
  await cleanup(names, [dir]);
  await cleanup(empty);
});

describe('tta-carbon report', () => {
  it('counts each run once, at its newest version, in a unit that fits', async () => {
    const r = await report(['--since', '7d', '--by', 'project']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^project\s+mg CO2eq\s+runs$/m);
    expect(r.out).toMatch(/^TTA-Training\s+30\.20\s+1$/m);
    expect(r.out).toMatch(/^TTA-Staging\s+20\.90\s+2$/m);
    expect(r.out).toMatch(/^total\s+51\.10\s+3$/m);
    expect(r.out).toContain('counted: 3 codecarbon runs, each once (3 from csv)');
  });

  it('--json has the unrounded kg and every group; by day and experiment too', async () => {
    const json = JSON.parse((await report(['--since', '7d', '--by', 'experiment', '--json'])).stdout);
    expect(json.counted).toBe('runs');
    expect(json.total.count).toBe(3);
    expect(json.total.kg).toBeCloseTo(0.0000511, 15);
    expect(json.rows).toEqual([
      { key: 'exp-b', kg: 0.0000302, count: 1 },
      { key: 'exp-a', kg: 0.0000088 + 0.0000121, count: 2 },
    ]);
    const byDay = JSON.parse((await report(['--since', '7d', '--by', 'day', '--json'])).stdout);
    const day = (age: number) => new Date(now - age).toISOString().slice(0, 10);
    for (const [, , , kg, age] of runs) expect(byDay.rows.find((x: { key: string }) => x.key === day(age)).kg).toBeCloseTo(kg, 15);
    expect(byDay.rows.length).toBeGreaterThanOrEqual(7);
  });

  it('--by function is the per-function breakdown, never added to runs', async () => {
    const r = await report(['--since', '7d', '--by', 'function']);
    expect(r.out).toMatch(/^function\s+g CO2eq\s+measurements$/m);
    expect(r.out).toMatch(/^generate_narrative\s+9\.000\s+3$/m);
    expect(r.out).toMatch(/^embed_scene\s+1\.000\s+1$/m);
    expect(r.out).toMatch(/^total\s+10\.00\s+4$/m);
    expect((await report(['--since', '1h', '--by', 'function'])).out).toMatch(/^total\s+3\.000\s+1$/m);
  });

  it('says so when there is nothing', async () => {
    const r = await report(['--since', '7d'], empty);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no runs between');
    const file = join(dir, 'none.svg');
    await report(['--since', '7d', '--chart', file], empty);
    expect(await readFile(file, 'utf8')).toContain('no data');
  });

  it('writes the chart as SVG and PNG; rendered, the bars and labels are there to see', async () => {
    const file = join(dir, 'emissions.svg');
    const r = await report(['--since', '7d', '--chart', file]);
    expect(r.code, r.out).toBe(0);
    const svg = await readFile(file, 'utf8');
    expect(svg.match(/class="bar"/g)).toHaveLength(3);
    expect(svg).toContain('mg CO2eq per day');
    // Ours (resvg, in process) and Debian's librsvg render the same picture.
    const rsvg = await ensureCommand('rsvg-convert', 'librsvg2-bin');
    if ('error' in rsvg) throw new Error(rsvg.error);
    const rendered = spawnSync('rsvg-convert', ['-f', 'png', file], { maxBuffer: 1 << 26 });
    expect(rendered.status).toBe(0);
    for (const png of [PNG.sync.read(await readFile(join(dir, 'emissions.png'))), PNG.sync.read(rendered.stdout)]) {
      expect([png.width, png.height]).toEqual([800, 400]);
      const px = (x: number, y: number) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
      const isBar = ([r, g, b]: number[]) => g! > 100 && r! < 80 && b! < 80;
      const isInk = ([r, g, b]: number[]) => r! < 120 && g! < 120 && b! < 120;
      // Three green bars, each a run of columns.
      let bars = 0;
      for (let x = 1, inBar = false; x < png.width; x++) {
        const hit = [...Array(png.height).keys()].some((y) => isBar(px(x, y)));
        if (hit && !inBar) bars++;
        inBar = hit;
      }
      expect(bars).toBe(3);
      // Ink in each label area: tick labels left of the axis, the axis title at the far
      // left, dates under it, and a gap between title and tick labels (no overlap).
      const inkIn = (x0: number, x1: number, y0: number, y1: number) => {
        let n = 0;
        for (let x = x0; x < x1; x++) for (let y = y0; y < y1; y++) if (isInk(px(x, y))) n++;
        return n;
      };
      expect(inkIn(40, 90, 40, 340)).toBeGreaterThan(50);
      expect(inkIn(5, 28, 100, 300)).toBeGreaterThan(50);
      expect(inkIn(28, 34, 40, 340)).toBe(0);
      expect(inkIn(96, 780, 335, 400)).toBeGreaterThan(50);
    }
  });

  it('refuses a bad --since, --by or --chart with exit 2', async () => {
    expect((await report(['--since', 'yesterday'])).code).toBe(2);
    expect((await report(['--by', 'color'])).code).toBe(2);
    expect((await report(['--chart', join(dir, 'x.png')])).code).toBe(2);
    for (const bad of ['3x', '7', '-2d', '0d', '']) expect(() => parseSince(bad)).toThrow(/expected a duration such as 7d/);
    expect(parseSince('7d')).toBe(7 * 86_400_000);
    expect(parseSince('36h')).toBe(36 * 3_600_000);
    expect(parseSince('2w')).toBe(14 * 86_400_000);
    expect(parseSince('90m')).toBe(90 * 60_000);
  });

  it('formats amounts with four significant digits', () => {
    expect(unitFor([0.0000511]).name).toBe('mg');
    expect(unitFor([2.5]).name).toBe('kg');
    expect(formatAmount(0.0511)).toBe('0.05110');
    expect(formatAmount(123.456)).toBe('123.5');
    expect(formatAmount(0)).toBe('0');
  });
});
