import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_JOB, CONTRACT_VERSION, type BatchJobData } from '../../src/common/queue/contract.js';
import { attachPayload, bytesKey, jobKey } from '../../src/common/queue/payload.js';
import { allDocs, cleanup, redisClient, uniqueNames, waitFor } from '../helpers/services.js';
import { startTestWorker } from '../helpers/worker.js';

// Issue #13: a batch that will not be tried again leaves its records, sanitized, in the
// dead-letter index, and its raw lines nowhere in Redis; the failed job keeps the
// reason and where the batch came from.

const names = uniqueNames('retire');
const redis = redisClient();
let w: Awaited<ReturnType<typeof startTestWorker>>;

beforeAll(async () => {
  w = await startTestWorker(names);
});
afterAll(async () => {
  await w.stop();
  await redis.quit();
  await cleanup(names);
});

async function retired(jobId: string): Promise<Record<string, string>> {
  const key = jobKey(w.queue.qualifiedName, jobId);
  await waitFor(async () => (await redis.hget(key, 'data'))?.includes('"retired":true'), 30_000, `job ${jobId} retired`);
  return redis.hgetall(key);
}

const deadLetters = () => allDocs(`${names.indexPrefix}-deadletter-*`);

describe('permanently failed batches', () => {
  it('a carbon.log batch whose start pattern no worker may run: its lines dead-lettered sanitized, its bytes gone', async () => {
    const text = 'INFO:a:login password=hunter2 ok\nINFO:a:second line\n';
    const data = {
      v: CONTRACT_VERSION,
      kind: 'lines',
      host: 'host-a',
      path: '/logs/carbon.log',
      fileId: 'hostilegrouping',
      endOffset: text.length,
      records: [{ offset: 0, end: text.length }],
      grouping: { startPattern: '^(a+)+$', maxLines: 100, maxBytes: 100_000 },
    } as BatchJobData;
    const job = await w.queue.add(BATCH_JOB, data, { jobId: 'hostilegrouping_0' });
    await attachPayload(redis, jobKey(w.queue.qualifiedName, job.id!), [Buffer.from(text)]);
    const hash = await retired(job.id!);
    expect(JSON.stringify(hash)).not.toContain('hunter2');
    expect(hash.tta_payload).toBeUndefined();
    expect(await redis.exists(bytesKey(jobKey(w.queue.qualifiedName, job.id!)))).toBe(0);
    expect(JSON.parse(hash.data!)).toMatchObject({ retired: true, deadLettered: 2, host: 'host-a', fileId: 'hostilegrouping' });
    expect(await w.queue.getJobState(job.id!)).toBe('failed');
    await waitFor(async () => (await deadLetters()).length >= 2, 30_000, '2 dead letters');
    const docs = await deadLetters();
    expect(docs).toHaveLength(2);
    expect(JSON.stringify(docs)).not.toContain('hunter2');
    expect(docs.map((d) => d._source.error.type)).toEqual(['batch_failed', 'batch_failed']);
    expect(docs[0]!._source.error.message).toContain('can backtrack catastrophically');
  });

  it('a job of an unknown contract is not retried: its data dead-lettered sanitized, then dropped from Redis', async () => {
    const job = await w.queue.add(BATCH_JOB, { v: 99, token: 'Bearer abcdefghijklmnop1234', note: 'from a newer shipper' } as never, {
      jobId: 'unknowncontract',
      attempts: 5,
      backoff: { type: 'fixed', delay: 10 },
    });
    const hash = await retired(job.id!);
    expect(JSON.stringify(hash)).not.toContain('abcdefghijklmnop1234');
    expect((await w.queue.getJob(job.id!))!.attemptsMade).toBe(1);
    await waitFor(async () => (await deadLetters()).some((d) => d._id === 'failed-job-unknowncontract'), 30_000, 'its dead letter');
    const doc = (await deadLetters()).find((d) => d._id === 'failed-job-unknowncontract')!;
    expect(doc._source.document).toContain('from a newer shipper');
    expect(doc._source.document).not.toContain('abcdefghijklmnop1234');
  });
});
