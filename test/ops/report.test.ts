import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../../src/ops/report.js';
import { runCli } from '../helpers/cli.js';
import { cleanup, esClient, services, tempDir, uniqueNames } from '../helpers/services.js';
import { reportBatch, startTestWorker } from '../helpers/worker.js';

// Known emissions through a real worker, then `tta-carbon report` as an operator runs it.

const names = uniqueNames('report');
const DAY = 86_400_000;
const now = Date.now();
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const plan: [string, number, number][] = [
  ['generate_narrative', 0.004, 2 * DAY], ['embed_scene', 0.001, 2 * DAY + 60_000],
  ['generate_narrative', 0.002, DAY], ['generate_narrative', 0.003, 600_000],
];
let dir: string;

function report(args: string[]) {
  return runCli(['report', ...args], { TTA_ENV: names.environment, ELASTICSEARCH_URL: services.elasticsearchUrl, TZ: 'UTC' });
}

beforeAll(async () => {
  dir = await tempDir('report');
  const pipeline = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
  const functions = Object.fromEntries(plan.map(([fn, kg, age]) => [`${fn}_${naive(now - age)}`, { function: fn, timestamp: naive(now - age), emissions: kg, unit: 'kg CO2eq' }]));
  await pipeline.add(reportBatch('report-known', { project_name: 'TTA-Staging', timestamp: naive(now), total_emissions: 0.01, unit: 'kg CO2eq', functions }));
  await pipeline.drained();
  await pipeline.stop();
  const es = esClient();
  await es.indices.refresh({ index: `${names.indexPrefix}-*` });
  await es.close();
});

afterAll(async () => {
  await cleanup(names, [dir]);
});

describe('tta-carbon report', () => {
  it('sums by function', async () => {
    const r = await report(['--since', '7d', '--by', 'function']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^generate_narrative\s+0\.009000\s+3$/m);
    expect(r.out).toMatch(/^embed_scene\s+0\.001000\s+1$/m);
    expect(r.out).toMatch(/^total\s+0\.010000\s+4$/m);
  });

  it('sums by day and by project, and --since narrows the window', async () => {
    const byDay = await report(['--since', '7d', '--by', 'day']);
    const day = (age: number) => new Date(now - age).toISOString().slice(0, 10);
    const expected = new Map<string, number>();
    for (const [, kg, age] of plan) expected.set(day(age), (expected.get(day(age)) ?? 0) + kg);
    for (const [d, kg] of expected) expect(byDay.out).toMatch(new RegExp(`^${d}\\s+${kg.toFixed(6)}\\s`, 'm'));
    expect((await report(['--by', 'project'])).out).toMatch(/^TTA-Staging\s+0\.010000\s+4$/m);
    expect((await report(['--since', '1h', '--by', 'function'])).out).toMatch(/^total\s+0\.003000\s+1$/m);
  });

  it('writes a non-empty SVG chart with a bar per day', async () => {
    const file = join(dir, 'emissions.svg');
    const r = await report(['--since', '7d', '--chart', file]);
    expect(r.code).toBe(0);
    const svg = await readFile(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/class="bar"/g)!.length).toBeGreaterThanOrEqual(7);
    const today = new Date(now - 600_000).toISOString().slice(0, 10);
    const todayKg = plan.filter(([, , age]) => new Date(now - age).toISOString().slice(0, 10) === today).reduce((n, [, kg]) => n + kg, 0);
    expect(svg).toContain(`${today}: ${todayKg.toFixed(6)} kg`);
  });

  it('refuses a bad --since or --by with exit 2', async () => {
    expect((await report(['--since', 'yesterday'])).code).toBe(2);
    expect((await report(['--by', 'color'])).code).toBe(2);
    expect(() => parseSince('3x')).toThrow(/expected a number and h, d or w/);
  });
});
