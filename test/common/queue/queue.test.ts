import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { BATCH_JOB, CONTRACT_VERSION, type BatchJobData, type LineChunk } from '../../../src/common/queue/contract.js';
import { attachPayload, bytesKey, giveUpIfBare, hasPayload, PAYLOAD_FIELD, jobKey, readBytes, readPayload } from '../../../src/common/queue/payload.js';
import { BatchNotQueuedError, BatchQueue } from '../../../src/common/queue/queue.js';
import { cleanup, redisClient, uniqueNames } from '../../helpers/services.js';

const grouping = { startPattern: '^INFO', maxLines: 10, maxBytes: 1000 };

function linesBatch(chunks: LineChunk[]): BatchJobData {
  return { v: CONTRACT_VERSION, kind: 'lines', host: 'h', path: '/l/carbon.log', fileId: 'f1', endOffset: chunks.at(-1)!.end, records: chunks, grouping };
}

describe('BatchQueue with bytes beside the job', () => {
  let names: ReturnType<typeof uniqueNames>;
  const redis = redisClient();
  let queue: BatchQueue;

  afterEach(async () => {
    await queue.close();
    await cleanup(names);
  });

  function setup() {
    names = uniqueNames('queue');
    queue = new BatchQueue({ name: names.queue, connection: redis, maxAttempts: 3, backoffMs: 100 });
  }

  it('stores the bytes (joined from their parts) beside the job hash, not in it, and they go when the job is removed', async () => {
    setup();
    const end = await queue.add(linesBatch([{ offset: 0, end: 12 }]), [Buffer.from('INFO:a:one\n'), Buffer.from('X')]);
    expect(end).toBe(12);
    const key = jobKey(queue.queue.qualifiedName, 'f1_0');
    expect((await readPayload(redis, key))!.toString()).toBe('INFO:a:one\nX');
    // BullMQ hands a worker the whole job hash when it takes the job: the bytes are not in it.
    expect(Object.keys(await redis.hgetall(key))).not.toContain(PAYLOAD_FIELD);
    expect(await redis.lrange(bytesKey(key), 0, -1)).toEqual(['INFO:a:one\nX']);
    await (await queue.queue.getJob('f1_0'))!.remove();
    expect(await redis.exists(key, bytesKey(key))).toBe(0);
  });

  it('reads the bytes of a job queued before contract v4, in its hash, and takes them for attached', async () => {
    setup();
    const key = jobKey(queue.queue.qualifiedName, 'f1_0');
    const old = { ...linesBatch([{ offset: 0, end: 11 }]), v: 3 } as BatchJobData;
    await queue.queue.add(BATCH_JOB, old, { jobId: 'f1_0' });
    await redis.hset(key, PAYLOAD_FIELD, 'INFO:a:one\n');
    expect(await hasPayload(redis, key)).toBe(true);
    expect(await readBytes(redis, key)).toEqual({ bytes: Buffer.from('INFO:a:one\n'), givenUp: false });
    expect(await giveUpIfBare(redis, key, 60_000, 1)).toBe('attached');
    // A shipper coming back to it neither reads the file again nor attaches a second copy.
    const end = await queue.add(linesBatch([{ offset: 0, end: 11 }]), [Buffer.from('INFO:a:one\n')], async () => {
      throw new Error('must not read the file again');
    });
    expect(end).toBe(11);
    expect(await redis.exists(bytesKey(key))).toBe(0);
  });

  it('a second attach (a restart attaching again) keeps one copy of the bytes', async () => {
    setup();
    const key = jobKey(queue.queue.qualifiedName, 'f1_0');
    await queue.queue.add(BATCH_JOB, linesBatch([{ offset: 0, end: 11 }]), { jobId: 'f1_0' });
    expect(await attachPayload(redis, key, [Buffer.from('INFO:a:one\n')])).toBe('attached');
    expect(await attachPayload(redis, key, [Buffer.from('INFO:a:one\n')])).toBe('already');
    expect(await redis.lrange(bytesKey(key), 0, -1)).toEqual(['INFO:a:one\n']);
  });

  it('after a crash between adding and attaching, the old job stands and gets its own bytes from the file', async () => {
    setup();
    // The crashed run queued chunk 0-11 and died before attaching its bytes.
    const old = linesBatch([{ offset: 0, end: 11 }]);
    await queue.queue.add(BATCH_JOB, old, { jobId: 'f1_0' });
    const file = Buffer.from('INFO:a:one\nINFO:b:two\n');
    let rebuiltFor: BatchJobData | null = null;
    // The restarted run read further: 0-22 in one chunk.
    const end = await queue.add(linesBatch([{ offset: 0, end: 22 }]), [file], async (queued) => {
      rebuiltFor = queued;
      return [file.subarray(0, 11)];
    });
    expect(end).toBe(11);
    expect(rebuiltFor!.endOffset).toBe(11);
    expect((await readPayload(redis, jobKey(queue.queue.qualifiedName, 'f1_0')))!.toString()).toBe('INFO:a:one\n');
  });

  it('a job already holding its bytes is left as it is, and its end is where reading goes on', async () => {
    setup();
    await queue.add(linesBatch([{ offset: 0, end: 11 }]), [Buffer.from('INFO:a:one\n')]);
    const end = await queue.add(linesBatch([{ offset: 0, end: 22 }]), [Buffer.from('INFO:a:one\nINFO:b:two\n')], async () => {
      throw new Error('must not read the file again');
    });
    expect(end).toBe(11);
    expect((await readPayload(redis, jobKey(queue.queue.qualifiedName, 'f1_0')))!.toString()).toBe('INFO:a:one\n');
    expect(await queue.queue.getJobCountByTypes('wait')).toBe(1);
  });

  it('a bare job is given up only once its bytes were awaited long enough, and bytes that came first always count', async () => {
    setup();
    const key = (id: string) => jobKey(queue.queue.qualifiedName, id);
    await queue.queue.add(BATCH_JOB, linesBatch([{ offset: 0, end: 11 }]), { jobId: 'f1_0' });
    // The wait counts from the first worker that found it bare, on that worker's clock.
    expect(await giveUpIfBare(redis, key('f1_0'), 5_000, 1_000)).toBe('wait');
    expect(await giveUpIfBare(redis, key('f1_0'), 5_999, 1_000)).toBe('wait');
    expect(await giveUpIfBare(redis, key('f1_0'), 6_000, 1_000)).toBe('given-up');
    // Lines attached after that are refused and not left behind; a worker sees the mark.
    expect(await attachPayload(redis, key('f1_0'), [Buffer.from('INFO:a:one\n')])).toBe('given-up');
    expect(await redis.exists(bytesKey(key('f1_0')))).toBe(0);
    expect(await readBytes(redis, key('f1_0'))).toEqual({ bytes: null, givenUp: true });
    expect(await giveUpIfBare(redis, key('f1_0'), 9_000, 1_000)).toBe('given-up');

    await queue.queue.add(BATCH_JOB, linesBatch([{ offset: 11, end: 22 }]), { jobId: 'f1_11' });
    expect(await giveUpIfBare(redis, key('f1_11'), 5_000, 1_000)).toBe('wait');
    expect(await attachPayload(redis, key('f1_11'), [Buffer.from('INFO:b:two\n')])).toBe('attached');
    expect(await giveUpIfBare(redis, key('f1_11'), 60_000, 1_000)).toBe('attached');
    expect((await readBytes(redis, key('f1_11'))).bytes!.toString()).toBe('INFO:b:two\n');
    expect(await giveUpIfBare(redis, key('gone_0'), 60_000, 1_000)).toBe('job-gone');
  });

  it('a job given up before its shipper came back: add refuses (the offset stays) until it is gone, then queues anew', async () => {
    setup();
    const old = linesBatch([{ offset: 0, end: 11 }]);
    await queue.queue.add(BATCH_JOB, old, { jobId: 'f1_0' });
    const key = jobKey(queue.queue.qualifiedName, 'f1_0');
    await giveUpIfBare(redis, key, 0, 1);
    expect(await giveUpIfBare(redis, key, 1, 1)).toBe('given-up');
    const file = Buffer.from('INFO:a:one\n');
    await expect(queue.add(old, [file], async () => [file])).rejects.toBeInstanceOf(BatchNotQueuedError);
    await (await queue.queue.getJob('f1_0'))!.remove();
    expect(await queue.add(old, [file], async () => [file])).toBe(11);
    expect(await readBytes(redis, key)).toEqual({ bytes: file, givenUp: false });
  });

  // A worker can take the bytes and finish the job (BullMQ deletes its hash) between the
  // shipper's two steps; a client that deletes the job just before the second stands for it.
  function finishedBetween(key: string): Redis {
    return new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop !== 'hmget') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<Redis['hmget']>) => {
          // As BullMQ removes a job: its hash and its `:logs` key together.
          await target.del(key, bytesKey(key));
          return target.hmget(...args);
        };
      },
    });
  }

  it('bytes a worker took before the check are consumed, not queued again; a job gone before them is', async () => {
    setup();
    const key = (id: string) => jobKey(queue.queue.qualifiedName, id);
    await queue.queue.add(BATCH_JOB, linesBatch([{ offset: 0, end: 11 }]), { jobId: 'f1_0' });
    expect(await attachPayload(finishedBetween(key('f1_0')), key('f1_0'), [Buffer.from('INFO:a:one\n')])).toBe('consumed');
    // Gone before the bytes came: they are not left behind under its id.
    expect(await attachPayload(redis, key('f1_0'), [Buffer.from('INFO:a:one\n')])).toBe('job-gone');
    expect(await redis.exists(key('f1_0'), bytesKey(key('f1_0')))).toBe(0);
  });

  it('a job given up, then finished between the two steps, is given up for the shipper too', async () => {
    setup();
    const key = jobKey(queue.queue.qualifiedName, 'f1_0');
    await queue.queue.add(BATCH_JOB, linesBatch([{ offset: 0, end: 11 }]), { jobId: 'f1_0' });
    await giveUpIfBare(redis, key, 0, 1);
    expect(await giveUpIfBare(redis, key, 1, 1)).toBe('given-up');
    expect(await attachPayload(finishedBetween(key), key, [Buffer.from('INFO:a:one\n')])).toBe('given-up');
    await redis.del(`${key}:tta_given_up`);
  });
});
