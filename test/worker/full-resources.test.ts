import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { cleanup, countDocs, esClient, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issue #34: Elasticsearch, Redis and disks fill up. Here, the flood-stage block a full
// disk makes Elasticsearch put on an index (index.blocks.read_only_allow_delete, set as
// the disk check sets it): batches wait, none is dead-lettered, the cause is said once
// and on /health while it lasts, and everything is indexed once the block is lifted,
// without a restart.

const names = uniqueNames('flood');
afterAll(async () => {
  await cleanup(names);
});

describe('Elasticsearch blocking writes (flood stage)', () => {
  it('batches wait, nothing is dead-lettered, the cause is signalled, and all is indexed once the block is lifted', async () => {
    const metrics = createMetrics({ environment: names.environment, role: 'worker' });
    const worker = await startTestWorker(
      names,
      (c) => {
        c.worker.backoffMs = 100;
        c.worker.maxBackoffMs = 500;
      },
      { metrics },
    );
    const es = esClient();
    try {
      await worker.add(logBatch('first', ['INFO:app:before the block']));
      await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) === 1, 20_000, 'the first batch indexed');
      const index = Object.keys(await es.indices.get({ index: `${names.indexPrefix}-2*` }))[0]!;
      await es.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': true } });

      for (let b = 0; b < 20; b++)
        await worker.add(
          logBatch(
            `blocked${b}`,
            Array.from({ length: 50 }, (_, i) => `INFO:app:blocked batch ${b} line ${i}`),
          ),
        );
      await waitFor(() => worker.worker.waiting.degraded()?.cause === 'writes_blocked', 20_000, 'the worker to say writes are blocked');
      const counted = async () => (await metrics.indexFailures.get()).values.find((v) => v.labels.reason === 'elasticsearch_writes_blocked')?.value ?? 0;
      await waitFor(async () => (await counted()) >= 3, 20_000, 'waits counted by cause');
      expect(await countDocs(`${names.indexPrefix}-2*`)).toBe(1);
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`).catch(() => 0)).toBe(0);
      expect(await worker.queue.getFailedCount()).toBe(0);

      await es.indices.putSettings({ index, settings: { 'index.blocks.read_only_allow_delete': null } });
      await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) === 1 + 20 * 50, 60_000, 'every batch indexed once the block is lifted', 250);
      await waitFor(() => worker.worker.waiting.degraded() === null, 10_000, 'the cause to clear');
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`).catch(() => 0)).toBe(0);
      expect(worker.worker.totals.deadLettered).toBe(0);
      expect(await worker.queue.getFailedCount()).toBe(0);
    } finally {
      await worker.stop();
      await es.close();
    }
  }, 120_000);
});
