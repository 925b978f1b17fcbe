import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS, judgeHour, MIN_ACTIVE_HOURS } from '../../src/common/emissions/unusual.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { emissionsReport, formatReport } from '../../src/ops/report.js';
import { EmissionsGauge } from '../../src/worker/emissions-gauge.js';
import { cleanup, esClient, uniqueNames } from '../helpers/services.js';
import { csvBatch, startTestWorker } from '../helpers/worker.js';
import { rng } from '../helpers/random.js';

// Issue #20: unusual emissions, judged against the project's own week (see
// src/common/emissions/unusual.ts). Eight simulated days of runs shaped like real ones,
// indexed by a real worker; the report and the gauge are asked at an injected "now".

const names = uniqueNames('unusual');
const DAY = 24 * HOUR_MS;
const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const spike3d = now - 3 * DAY + 10 * HOUR_MS - (now % DAY); // 10:00 UTC three days ago
let seq = 0;
// Deterministic noise, so a failure can be replayed.
const random = rng(20261202);
const noise = () => random() * 0.4 + 0.8;

type Row = Record<string, string>;
const run = (project: string, at: number, kg: number): Row => ({
  timestamp: new Date(at).toISOString().slice(0, 19),
  project_name: project,
  run_id: `0e5a1000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
  duration: '3',
  emissions: String(kg),
});

function history(): Row[] {
  const rows: Row[] = [];
  for (let h = 8 * 24; h >= 1; h--) {
    const start = now - h * HOUR_MS;
    const hourOfDay = new Date(start).getUTCHours();
    // A staging project that works office hours: three runs of about 10 mg an hour.
    if (hourOfDay >= 8 && hourOfDay <= 18) for (const m of [5, 25, 45]) rows.push(run('TTA-Staging', start + m * 60_000, 0.00001 * noise()));
    // A training project emitting about half a kilogram every hour, day and night.
    rows.push(run('TTA-Training', start + 30 * 60_000, 0.5 * noise()));
    // A project two days old: too little history to judge.
    if (h <= 48 && hourOfDay % 5 === 0) rows.push(run('TTA-New', start + 10 * 60_000, 0.001 * noise()));
  }
  // Two unusual hours for staging: a host mining three days ago and in the last hour.
  for (const start of [spike3d, now - HOUR_MS]) for (let m = 1; m < 60; m += 3) rows.push(run('TTA-Staging', start + m * 60_000, 0.00001 * noise()));
  // The new project's biggest hour ever, right now: still not judged.
  rows.push(run('TTA-New', now - 30 * 60_000, 0.05));
  return rows;
}

beforeAll(async () => {
  const worker = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
  const rows = history();
  for (let i = 0; i < rows.length; i += 200) await worker.add(csvBatch(`unusual-${i}`, rows.slice(i, i + 200), i * 500));
  await worker.finish(60_000);
}, 120_000);

afterAll(async () => {
  await cleanup(names);
});

describe('unusual emissions', () => {
  it('the rule: a ratio to the median active hour, silent without enough history', () => {
    const steady = Array.from({ length: 48 }, (_, i) => (i % 2 ? 0 : 3e-6));
    expect(judgeHour(3e-6, steady)).toMatchObject({ ratio: 1, unusual: false, activeHours: 24 });
    expect(judgeHour(3e-5, steady)).toMatchObject({ ratio: 10, unusual: true });
    expect(
      judgeHour(
        2000,
        steady.map((v) => (v * 1e9) / 3),
      ),
    ).toMatchObject({ unusual: false });
    expect(judgeHour(1, Array(MIN_ACTIVE_HOURS - 1).fill(1e-6))).toMatchObject({ ratio: null, unusual: false });
  });

  it('report --by hour flags the two unusual hours of the staging project, and only them', async () => {
    const es = esClient();
    try {
      const report = await emissionsReport(es, names.indexPrefix, 4 * DAY, 'hour', { now: new Date(now), timeZone: 'UTC' });
      const flagged = report.rows.filter((r) => r.unusual).map((r) => [r.key, r.unusual!.map((u) => u.project)]);
      const key = (ms: number) => `${new Date(ms).toISOString().slice(0, 13).replace('T', ' ')}:00`;
      expect(flagged).toEqual([
        [key(spike3d), ['TTA-Staging']],
        [key(now - HOUR_MS), ['TTA-Staging']],
      ]);
      for (const r of report.rows.filter((x) => x.unusual)) expect(r.unusual![0]!.ratio).toBeGreaterThan(5);
      expect(formatReport(report)).toMatch(new RegExp(`^${key(spike3d)} .*unusual: TTA-Staging \\d+\\.\\dx its usual hour$`, 'm'));
      const byDay = await emissionsReport(es, names.indexPrefix, 4 * DAY, 'day', { now: new Date(now), timeZone: 'UTC' });
      expect(byDay.rows.filter((r) => r.unusual).map((r) => r.key)).toEqual(
        [new Date(spike3d).toISOString().slice(0, 10), new Date(now - HOUR_MS).toISOString().slice(0, 10)].filter((d, i, a) => a.indexOf(d) === i),
      );
    } finally {
      await es.close();
    }
  });

  it('the metric is the same judgement of the last hour', async () => {
    const es = esClient();
    try {
      const metrics = createMetrics({ environment: names.environment, role: 'worker' });
      const { emissionsKg, lastHourKg, usualHourKg, unusualRatio } = metrics;
      await new EmissionsGauge({
        client: es,
        indexPrefix: names.indexPrefix,
        gauges: { emissionsKg, lastHourKg, usualHourKg, unusualRatio },
        logger: createLogger({ level: 'silent' }),
        now: () => new Date(now),
        intervalMs: 60_000,
      }).refresh();
      const ratio = Object.fromEntries((await unusualRatio.get()).values.map((v) => [v.labels.project, v.value]));
      const report = await emissionsReport(es, names.indexPrefix, HOUR_MS, 'hour', { now: new Date(now), timeZone: 'UTC' });
      const last = report.rows.find((r) => r.unusual)!.unusual![0]!;
      expect(ratio['TTA-Staging']).toBeCloseTo(last.ratio, 9);
      expect(ratio['TTA-Staging']).toBeGreaterThan(5);
      expect(ratio['TTA-Training']).toBeGreaterThan(0.5);
      expect(ratio['TTA-Training']).toBeLessThan(2);
      expect(ratio).not.toHaveProperty('TTA-New');
      const usual = Object.fromEntries((await usualHourKg.get()).values.map((v) => [v.labels.project, v.value]));
      expect(usual['TTA-Staging']).toBeCloseTo(last.usualKg, 15);
    } finally {
      await es.close();
    }
  });
});
