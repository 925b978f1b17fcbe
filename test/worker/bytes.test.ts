import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { BATCH_JOB, type BatchJobData } from '../../src/common/queue/contract.js';
import { bytesKey, PAYLOAD_FIELD, jobKey } from '../../src/common/queue/payload.js';
import { BatchQueue } from '../../src/common/queue/queue.js';
import { allDocs, cleanup, redisClient, uniqueNames, waitFor } from '../helpers/services.js';
import { linesBatch, startTestWorker } from '../helpers/worker.js';

// Real Redis, real Elasticsearch: a carbon.log job whose shipper died between queueing
// it and attaching its lines (the chaos run left one waiting for ever).

const names = uniqueNames('bytes');
const metrics = createMetrics({ environment: names.environment, role: 'worker' });
let pipeline: Awaited<ReturnType<typeof startTestWorker>>;

beforeAll(async () => {
  pipeline = await startTestWorker(
    names,
    (c) => {
      c.worker.bytesWaitMs = 500;
      c.worker.backoffMs = 100;
    },
    { metrics },
  );
});

afterAll(async () => {
  await pipeline.stop();
  await cleanup(names);
});

/** The messages of the `count` documents of one file's batches (legacy ids start with its fileId), once all came. */
async function messagesOf(fileId: string, count: number): Promise<string[]> {
  const docs = await waitFor(
    async () => {
      const found = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._id.startsWith(`${fileId}.`));
      return found.length === count ? found : null;
    },
    30_000,
    `${count} documents of ${fileId}`,
  );
  return docs.map((d) => d._source.message as string).sort();
}

describe('a carbon.log batch whose lines never come', () => {
  it('is given up after worker.bytesWaitMs, counted, and the same batch queued again later is indexed whole', async () => {
    const bytes = Buffer.from('INFO:carbon:orphan one\nINFO:carbon:orphan two\n');
    const data = linesBatch('orphan', bytes);
    await pipeline.queue.add(BATCH_JOB, data, { jobId: 'orphan_0' });
    await waitFor(async () => (await pipeline.queue.getJobState('orphan_0')) === 'completed', 30_000, 'the bare job to be given up');
    const given = (await pipeline.queue.getJob('orphan_0'))!;
    expect(given.attemptsStarted).toBeGreaterThan(1);
    expect(given.returnvalue).toEqual({ indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 });
    const failures = (await metrics.indexFailures.get()).values.find((v) => v.labels.reason === 'bytes_never_attached');
    expect(failures?.value).toBe(1);
    expect(await allDocs(`${names.indexPrefix}-2*`)).toEqual([]);

    // The shipper queued it again before the job was gone: refused, the offset stays.
    const redis = redisClient();
    const shipper = new BatchQueue({ name: names.queue, connection: redis, maxAttempts: 3, backoffMs: 100 });
    try {
      await expect(shipper.add(data, [bytes], async () => [bytes])).rejects.toThrow(/gave it up/);
      const key = jobKey(pipeline.queue.qualifiedName, 'orphan_0');
      expect(await redis.exists(bytesKey(key))).toBe(0);
      // Production jobs go on completion; this test queue keeps them until told.
      await given.remove();
      expect(await shipper.add(data, [bytes], async () => [bytes])).toBe(bytes.length);
      expect(await messagesOf('orphan', 2)).toEqual(['orphan one', 'orphan two']);
      // Completed, the job goes (removeOnComplete), and its raw lines with it.
      await waitFor(async () => (await redis.exists(key, bytesKey(key))) === 0, 10_000, 'the job and its bytes gone');
    } finally {
      await shipper.close();
      await redis.quit();
    }
  });

  it('queued by a shipper of contract v3 (its lines in the job hash), is indexed whole: a rolling upgrade loses nothing', async () => {
    const bytes = Buffer.from('INFO:carbon:older one\nINFO:carbon:older two\n');
    const data: BatchJobData = { ...linesBatch('older', bytes), v: 3 };
    const redis = redisClient();
    try {
      await pipeline.queue.add(BATCH_JOB, data, { jobId: 'older_0' });
      await redis.hset(jobKey(pipeline.queue.qualifiedName, 'older_0'), PAYLOAD_FIELD, bytes);
      expect(await messagesOf('older', 2)).toEqual(['older one', 'older two']);
    } finally {
      await redis.quit();
    }
  });
});
