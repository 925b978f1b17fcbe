import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { attachPayload, jobKey } from '../../src/common/queue/payload.js';
import { allDocs, cleanup, esClient, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch as batch, linesBatch, startTestWorker } from '../helpers/worker.js';

// Real Redis, real Elasticsearch: a worker consuming batches as the shipper queues them.

const names = uniqueNames('worker');
const es = esClient();
let pipeline: Awaited<ReturnType<typeof startTestWorker>>;

const now = new Date();
const iso = (offsetMs: number) => new Date(now.getTime() - offsetMs).toISOString();

beforeAll(async () => {
  pipeline = await startTestWorker(names);
});

afterAll(async () => {
  await pipeline.stop();
  await es.close();
  await cleanup(names);
});

describe('worker against real services', () => {
  // The shipper adds a lines job, then attaches its bytes: a worker can take the job in between.
  it('takes bytes attached just after the job on the first attempt, and waits for bytes that come much later', async () => {
    const { queue } = pipeline;
    const text = (tag: string) => Buffer.from(`INFO:carbon:${tag} one\nINFO:carbon:${tag} two\n`);
    const late = async (fileId: string, until: (id: string) => Promise<unknown>) => {
      const bytes = text(fileId);
      const job = await queue.add(BATCH_JOB, linesBatch(fileId, bytes), { jobId: `${fileId}_0` });
      await until(job.id!);
      expect(await attachPayload((await queue.client) as unknown as Redis, jobKey(queue.qualifiedName, job.id!), [bytes])).toBe('attached');
      return job.id!;
    };
    const soon = await late('soon', () => sleep(100));
    // Much later: once a first attempt has taken the job and given it back for want of
    // its bytes. A fixed delay was outlasted by a worker slow to take the job at all.
    const later = await late('later', (id) =>
      waitFor(
        async () => {
          const job = await queue.getJob(id);
          return (job?.attemptsStarted ?? 0) >= 1 && (await queue.getJobState(id)) !== 'active';
        },
        30_000,
        'a first attempt at the later job to give it back',
      ),
    );
    await waitFor(async () => (await queue.getJobState(soon)) === 'completed' && (await queue.getJobState(later)) === 'completed', 30_000, 'both jobs');
    expect((await queue.getJob(soon))!.attemptsStarted).toBe(1);
    expect((await queue.getJob(later))!.attemptsStarted).toBeGreaterThan(1);
    const docs = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => /^(soon|later)\./.test(d._id));
    expect(docs.map((d) => d._source.message).sort()).toEqual(['later one', 'later two', 'soon one', 'soon two']);
    // The tests below count completed jobs on this queue: leave none behind.
    for (const id of [soon, later]) await (await queue.getJob(id))?.remove();
  });

  it('indexes a batch once even when it is delivered twice', async () => {
    const data = batch('dup', [
      `{"timestamp":"${iso(1000)}","level":"info","message":"one"}`,
      `{"timestamp":"${iso(2000)}","level":"info","message":"two"}`,
      `{"timestamp":"${iso(3000)}","level":"info","message":"three"}`,
    ]);
    const { queue } = pipeline;
    await queue.add('batch', data, { jobId: 'dup_0-a' });
    await queue.add('batch', data, { jobId: 'dup_0-b' });
    await waitFor(async () => (await queue.getCompletedCount()) === 2, 20_000, 'both deliveries to complete');
    const docs = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._id.startsWith('dup.'));
    expect(docs.map((d) => d._source.message).sort()).toEqual(['one', 'three', 'two']);
    expect(new Set(docs.map((d) => d._id)).size).toBe(3);
    expect(pipeline.worker.totals.duplicates).toBeGreaterThanOrEqual(3);
  });

  it('dead-letters the record Elasticsearch rejects and indexes the rest of its batch', async () => {
    const data = batch('poison', [
      `{"timestamp":"${iso(0)}","message":"shape setter","shape":{"inner":1}}`,
      `{"timestamp":"${iso(0)}","message":"good neighbour"}`,
      `{"timestamp":"${iso(0)}","message":"poison","shape":"a string where an object is mapped"}`,
      `{"timestamp":"${iso(0)}","message":"after the poison"}`,
    ]);
    await pipeline.add(data);
    const dead = await waitFor(
      async () => {
        const found = await allDocs(`${names.indexPrefix}-deadletter-*`);
        return found.length > 0 ? found : null;
      },
      20_000,
      'the dead letter',
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]!._source.error.type).toBe('document_parsing_exception');
    expect(JSON.parse(dead[0]!._source.document).message).toBe('poison');
    const good = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._id.startsWith('poison.'));
    expect(good.map((d) => d._source.message).sort()).toEqual(['after the poison', 'good neighbour', 'shape setter']);
  });

  it('dead-letters events older than retention instead of recreating a deleted index', async () => {
    await pipeline.add(batch('old', ['{"timestamp":"2001-01-01T00:00:00Z","message":"ancient"}']));
    const dead = await waitFor(
      async () => {
        const found = (await allDocs(`${names.indexPrefix}-deadletter-*`)).filter((d) => d._id.startsWith('old.'));
        return found.length > 0 ? found : null;
      },
      20_000,
      'the dead letter',
    );
    expect(dead[0]!._source.error.type).toBe('older_than_retention');
    const created = await es.indices.exists({ index: `${names.indexPrefix}-2001.01.01` });
    expect(created).toBe(false);
  });
});
