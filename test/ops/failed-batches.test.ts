import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { cleanup, countDocs, redisClient, services, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issue #36: failed batches as commands, not redis-cli. Two batches fail for good in a
// worker with a bug (a BullMQ worker whose processor throws, standing in for a build
// that cannot index them); the fixed worker (ours) is started; the command sends one
// back and only that one is indexed; the other stays failed until dropped.

const names = uniqueNames('failed');
const dir = mkdtempSync(join(tmpdir(), 'tta-failed-'));
const config = join(dir, 'tta-carbon.yaml');
writeFileSync(config, `redis:\n  queue: ${names.queue}\n`);
afterAll(async () => {
  await cleanup(names);
  rmSync(dir, { recursive: true, force: true });
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/tta-carbon.js', '--config', config, 'failed', ...args], {
    env: { PATH: process.env.PATH!, TTA_ENV: names.environment, REDIS_URL: services.redisUrl },
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('tta-carbon failed', () => {
  it('lists failed batches, retries one by id (indexed; nothing else moves), drops the other only when confirmed', async () => {
    const connection = redisClient();
    const queue = new Queue(names.queue, { connection });
    try {
      const day = new Date().toISOString().slice(0, 10);
      const line = (m: string) => `${day} 10:00:00,000 - src.components.carbon_component - INFO - ${m}`;
      await queue.add(BATCH_JOB, logBatch('fa', [line('retried-1'), line('retried-2')]), { jobId: 'fa_0', attempts: 1 });
      await queue.add(BATCH_JOB, logBatch('fb', [line('dropped-1')]), { jobId: 'fb_0', attempts: 1 });
      const buggy = new Worker(
        names.queue,
        async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'items')");
        },
        { connection: redisClient() },
      );
      await waitFor(async () => (await queue.getFailedCount()) === 2, 15_000, 'both batches to fail');
      await buggy.close();

      const list = cli('list');
      expect(list.code, list.out).toBe(0);
      expect(list.out).toContain('2 failed batch(es)');
      expect(list.out).toMatch(/fa_0 {2}test-host:\/logs\/carbon\.log @0 \(2 records, 1 attempts\) {2}Cannot read properties/);
      const json = JSON.parse(cli('list', '--json').out) as { id: string }[];
      expect(json.map((b) => b.id).sort()).toEqual(['fa_0', 'fb_0']);

      expect(cli('retry').code, 'neither an id nor --all').toBe(2);
      expect(cli('retry', 'no-such-batch').code).toBe(1);
      const retry = cli('retry', 'fa_0');
      expect(retry.code, retry.out).toBe(0);
      expect(await (await queue.getJob('fa_0'))!.getState()).toBe('waiting');
      expect(await (await queue.getJob('fb_0'))!.getState()).toBe('failed');

      const worker = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
      await waitFor(
        async () => (await (await queue.getJob('fa_0'))?.getState()) !== 'waiting' && (await queue.getActiveCount()) === 0,
        30_000,
        'the retried batch to be taken',
      );
      await worker.finish();
      expect(await countDocs(`${names.indexPrefix}-2*`)).toBe(2);
      expect(await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message: 'retried-2' } })).toBe(1);
      expect(await (await queue.getJob('fb_0'))!.getState()).toBe('failed');

      // No terminal to ask on: refused without --yes, and kept.
      const ask = cli('drop', 'fb_0');
      expect(ask.code, ask.out).toBe(2);
      expect(ask.out).toContain('confirm with --yes');
      expect(await (await queue.getJob('fb_0'))!.getState()).toBe('failed');
      const drop = cli('drop', 'fb_0', '--yes');
      expect(drop.code, drop.out).toBe(0);
      expect(drop.out).toContain('dropped fb_0 (1 record(s) of test-host:/logs/carbon.log from offset 0)');
      expect(await queue.getJob('fb_0')).toBeUndefined();
      expect(cli('list').out).toContain('0 failed batch(es)');
      expect(await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message: 'dropped-1' } })).toBe(0);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await connection.quit();
    }
  }, 120_000);
});
