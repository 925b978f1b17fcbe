import { type ChildProcess, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { cleanup, countDocs, redisClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issue #34: a worker stopped (SIGSTOP) mid-batch for longer than livenessTtlMs loses
// its batch to another worker; resumed (SIGCONT), it finishes writing the same batch.
// Both wrote it: the ids make that one document per event, and the old worker's late
// completion is refused rather than counted.

const names = uniqueNames('takeover');
let child: ChildProcess | undefined;
let dir: string | undefined;
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  await cleanup(names);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const BATCHES = 12;
const LINES = 2_000;

describe('a batch taken over while its old worker still finishes it', () => {
  it('is indexed once: every event one document, the late completion refused', async () => {
    dir = await tempDir('takeover');
    const configFile = join(dir, 'config.yaml');
    await writeFile(configFile, `redis:\n  queue: ${names.queue}\nworker:\n  concurrency: 1\n`);
    const redis = redisClient();
    const queue = new Queue(names.queue, { connection: redis });
    const now = Date.now();
    for (let b = 0; b < BATCHES; b++) {
      const lines = Array.from(
        { length: LINES },
        (_, i) => `{"timestamp":"${new Date(now - i).toISOString()}","level":"info","message":"batch ${b} event ${i}","b":${b},"i":${i}}`,
      );
      await queue.add(BATCH_JOB, logBatch(`takeover-${b}`, lines), { jobId: `takeover-${b}_0` });
    }
    let log = '';
    child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'worker'], {
      env: {
        ...process.env,
        TTA_ENV: names.environment,
        TTA_HOST_NAME: 'host-a',
        TTA_DATA_DIR: dir,
        REDIS_URL: services.redisUrl,
        ELASTICSEARCH_URL: services.elasticsearchUrl,
        TTA_METRICS_PORT: '0',
        CARBON_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (log = (log + d).slice(-50_000)));
    child.stderr!.on('data', (d) => (log = (log + d).slice(-50_000)));
    // Stopped while it holds a batch.
    const held = await waitFor(
      async () => {
        const [job] = await queue.getActive();
        return job?.processedBy?.startsWith('host-a:') ? job : null;
      },
      60_000,
      'host-a to take a batch',
      20,
    );
    child.kill('SIGSTOP');
    const metrics = createMetrics({ environment: names.environment, role: 'worker' });
    const b = await startTestWorker(names, (c) => (c.hostName = 'host-b'), { metrics });
    try {
      await waitFor(
        async () => (await queue.getJob(held.id!))?.processedBy?.startsWith('host-b:') || (await queue.getJob(held.id!))?.finishedOn,
        20_000,
        'host-b to take the held batch over',
      );
      await waitFor(async () => (await queue.getCompletedCount()) === BATCHES, 120_000, 'every batch completed', 250);
      child.kill('SIGCONT');
      // The resumed worker finishes its copy of the batch and is refused its completion.
      await waitFor(() => log.includes(`Missing lock for job ${held.id}`) || null, 30_000, 'host-a to finish its copy and be refused');
      expect(log).toContain('was taken over by another');
      await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) === BATCHES * LINES, 30_000, 'every event indexed');
      // Once, not twice: count again after host-a had time to write its copy.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await countDocs(`${names.indexPrefix}-2*`)).toBe(BATCHES * LINES);
      const reclaimed = (await metrics.batchesReclaimed.get()).values[0]?.value ?? 0;
      expect(reclaimed).toBeGreaterThanOrEqual(1);
      expect(await queue.getFailedCount()).toBe(0);
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`).catch(() => 0)).toBe(0);
    } finally {
      await b.stop();
      await queue.close();
      await redis.quit();
    }
  }, 240_000);
});
