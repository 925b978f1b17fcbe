import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { cleanup, countDocs, redisClient, services, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issue #14: after kill -9 of a worker holding batches, a worker restarted on the same
// data dir indexes them within seconds, not after BullMQ's 30 s lock and two stalled
// checks. The killed worker is a real process: a BullMQ worker recorded as an
// incarnation in the data dir exactly as CarbonWorker records itself, that takes the
// jobs and never finishes them.

const names = uniqueNames('recovery');
let dataDir: string;
afterAll(async () => {
  await cleanup(names, dataDir ? [dataDir] : []);
});

const holder = (queue: string, dir: string) => `
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { newIncarnation, register } from './dist/worker/incarnations.js';
const me = newIncarnation(hostname(), process.pid, ${JSON.stringify(queue)});
await register(${JSON.stringify(dir)}, me);
const w = new Worker(${JSON.stringify(queue)}, () => new Promise(() => {}), { connection: new Redis(${JSON.stringify(services.redisUrl)}, { maxRetriesPerRequest: null }), name: me.name, concurrency: 4, lockDuration: 30000 });
w.on('active', () => console.log('holding'));
`;

describe('a worker killed with -9 while it holds batches', () => {
  it('its batches are indexed within 10 s of a worker starting on the same data dir', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tta-recovery-'));
    const redis = redisClient();
    const queue = new Queue(names.queue, { connection: redis });
    for (let i = 0; i < 3; i++) await queue.add(BATCH_JOB, logBatch(`held${i}`, [`INFO:held:batch ${i}`]), { jobId: `held${i}_0` });
    const child = spawn(process.execPath, ['--input-type=module', '-e', holder(names.queue, dataDir)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitFor(async () => (await queue.getActiveCount()) === 3, 20_000, 'the doomed worker to hold all 3 batches');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(await queue.getActiveCount()).toBe(3);
    const started = Date.now();
    const worker = await startTestWorker(names, (c) => (c.dataDir = dataDir));
    try {
      await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) === 3, 10_000, 'the 3 held batches indexed', 200);
      expect(Date.now() - started).toBeLessThan(10_000);
      // The dead incarnation is forgotten; the live one is recorded.
      expect((await readdir(join(dataDir, 'workers'))).length).toBe(1);
    } finally {
      await worker.stop();
      await queue.close();
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    }
    expect(out).toContain('holding');
  }, 60_000);
});
