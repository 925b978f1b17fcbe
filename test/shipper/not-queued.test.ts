import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { BATCH_JOB, batchJobId, streamId, type BatchJobData } from '../../src/common/queue/contract.js';
import { giveUpIfBare, jobKey, readPayload } from '../../src/common/queue/payload.js';
import { BatchQueue } from '../../src/common/queue/queue.js';
import { Registry } from '../../src/shipper/registry.js';
import { Shipper } from '../../src/shipper/shipper.js';
import { cleanup, redisClient, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { oneLogConfig } from '../helpers/shipper.js';

// A shipper in process on real Redis whose batch Redis does not take: the file was read
// fine, so it is not reported unreadable; the offset stays and the batch comes again.

const LINES = 'INFO:a:one\nINFO:a:two\nINFO:a:three\n';

describe('a batch Redis does not take', () => {
  const open: { shipper: Shipper; queue: BatchQueue; redis: Redis; names: ReturnType<typeof uniqueNames>; dir: string }[] = [];
  afterEach(async () => {
    for (const { shipper, queue, redis, names, dir } of open.splice(0)) {
      await shipper.stop();
      await queue.close();
      await redis.quit();
      await cleanup(names, [dir]);
    }
  });

  async function setup(
    label: string,
    queueOptions: { minReplicas?: number; replicaTimeoutMs?: number },
    before?: (batch: BatchJobData, queue: BatchQueue) => Promise<void>,
  ) {
    const names = uniqueNames(label);
    const dir = await tempDir(label);
    const log = join(dir, 'carbon.log');
    await writeFile(log, LINES);
    const config = oneLogConfig(dir, log, 50);
    const { registry } = await Registry.open(join(dir, 'data'));
    const redis = redisClient();
    const queue = new BatchQueue({ name: names.queue, connection: redis, maxAttempts: 3, backoffMs: 100, ...queueOptions });
    const lines: string[] = [];
    let first = true;
    const shipper = new Shipper(config, {
      registry,
      source: 's',
      enqueue: async (batch, payload, rebuild) => {
        if (first && before) await before(batch, queue);
        first = false;
        return queue.add(batch, payload, rebuild);
      },
      backlog: () => queue.backlog(),
      redisReady: () => redis.status === 'ready',
      logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }),
    });
    open.push({ shipper, queue, redis, names, dir });
    await shipper.start();
    const logged = (msg: RegExp) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; path?: string }).filter((l) => msg.test(l.msg));
    return { shipper, queue, redis, log, logged };
  }

  it('a job id standing for a job workers gave up: a warning, given_up counted, nothing unreadable; queued anew once that job is gone', async () => {
    let jobId = '';
    const { shipper, queue, redis, log, logged } = await setup('notq-given', {}, async (batch, q) => {
      // What a shipper killed between queueing and attaching leaves, once workers gave up.
      jobId = batchJobId(streamId(batch), batch.records[0]!.offset);
      await q.queue.add(BATCH_JOB, batch, { jobId });
      const key = jobKey(q.queue.qualifiedName, jobId);
      expect(await giveUpIfBare(redis, key, 1, 1)).toBe('wait');
      expect(await giveUpIfBare(redis, key, 2, 1)).toBe('given-up');
    });
    await waitFor(() => shipper.stats().enqueueFailures.given_up >= 2, 10_000, 'the batch refused twice');
    const stats = shipper.stats();
    expect(stats.problems.unreadable).toBe(0);
    expect(stats.enqueueFailures.redis).toBe(0);
    expect(stats.recordsEnqueued).toBe(0);
    expect((await shipper.unshippedBytes()).get(log)).toBe(LINES.length);
    // Said once, as a warning naming the file, however many rounds it lasts.
    const warned = logged(/^batch not queued: .*gave it up/);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, path: log });
    expect(logged(/cannot read file|cannot queue batch/)).toEqual([]);

    // A worker completes a given-up job, and completed jobs go.
    await (await queue.queue.getJob(jobId))!.remove();
    await waitFor(async () => (await shipper.unshippedBytes()).get(log) === 0, 10_000, 'the batch queued anew');
    expect((await readPayload(redis, jobKey(queue.queue.qualifiedName, jobId)))?.toString()).toBe(LINES);
    expect(shipper.stats().recordsEnqueued).toBeGreaterThan(0);
  });

  it('Redis short of the replicas asked for: an error saying so, redis counted, nothing unreadable, the offset stays', async () => {
    // The test Redis has no replica: WAIT 1 always times out.
    const { shipper, log, logged } = await setup('notq-redis', { minReplicas: 1, replicaTimeoutMs: 50 });
    await waitFor(() => shipper.stats().enqueueFailures.redis >= 2, 10_000, 'the batch refused twice');
    const stats = shipper.stats();
    expect(stats.problems.unreadable).toBe(0);
    expect(stats.enqueueFailures).toMatchObject({ given_up: 0, job_gone: 0 });
    expect((await shipper.unshippedBytes()).get(log)).toBe(LINES.length);
    const errors = logged(/^cannot queue batch/);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 50, path: log, err: expect.stringMatching(/replicas/) });
    expect(logged(/cannot read file/)).toEqual([]);
  });
});
