import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { EmissionsGauge } from '../../src/worker/emissions-gauge.js';
import { cleanup, esClient, uniqueNames, waitFor } from '../helpers/services.js';
import { csvBatch, startTestWorker } from '../helpers/worker.js';

// carbon_emissions_kg{project}: the last 24 hours of runs as indexed, each run once.
// Runs go through a real worker into Elasticsearch; the gauge is read from a second
// worker's registry, as Prometheus would scrape it.

const names = uniqueNames('gauge');
const HOUR = 3_600_000;
const now = Date.now();
const naive = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const run = (n: number, project: string, kg: number, age: number, duration = 5) => ({
  timestamp: naive(now - age),
  project_name: project,
  run_id: `5a1e0000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  duration: String(duration),
  emissions: String(kg),
});

afterAll(async () => {
  await cleanup(names);
});

const values = async (metrics: ReturnType<typeof createMetrics>) =>
  Object.fromEntries((await metrics.emissionsKg.get()).values.map((v) => [v.labels.project, v.value]));

describe('carbon_emissions_kg', () => {
  it('is the last 24 h of runs per project, each run at its newest version', async () => {
    const feeder = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
    await feeder.add(
      csvBatch('g1', [run(1, 'TTA-A', 0.25, HOUR, 2), run(2, 'TTA-A', 0.5, 2 * HOUR), run(3, 'TTA-A', 9, 25 * HOUR), run(4, 'TTA-B', 0.002, 3 * HOUR)]),
    );
    // The first run again, flushed later: it replaces its earlier version.
    await feeder.add(csvBatch('g2', [run(1, 'TTA-A', 0.75, HOUR, 6)]));
    await feeder.drained();
    await feeder.stop();
    const es = esClient();
    await es.indices.refresh({ index: `${names.indexPrefix}-*` });

    // A worker exports it from its start.
    const metrics = createMetrics({ environment: names.environment, role: 'worker' });
    const worker = await startTestWorker(names, (c) => (c.timeZone = 'UTC'), { metrics });
    const seen = await waitFor(
      async () => {
        const v = await values(metrics);
        return Object.keys(v).length === 2 ? v : null;
      },
      20_000,
      'the gauge',
    );
    await worker.stop();
    expect(seen['TTA-A']).toBeCloseTo(1.25, 12);
    expect(seen['TTA-B']).toBeCloseTo(0.002, 12);

    // As time passes, runs leave the window (the clock is injected).
    const later = createMetrics({ environment: names.environment, role: 'worker' });
    const gauge = new EmissionsGauge({
      client: es,
      indexPrefix: names.indexPrefix,
      gauges: { emissionsKg: later.emissionsKg, lastHourKg: later.lastHourKg, usualHourKg: later.usualHourKg, unusualRatio: later.unusualRatio },
      logger: createLogger({ level: 'silent' }),
      now: () => new Date(now + 22.5 * HOUR),
      intervalMs: 60_000,
    });
    await gauge.refresh();
    expect(await values(later)).toEqual({ 'TTA-A': 0.75 });
    await es.close();
  });
});
