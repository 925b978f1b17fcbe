import { appendFileSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisDown, redisUp } from '../../src/services/redis-server.js';
import { allMessages, tally } from '../helpers/fleet.js';
import { cleanup, esClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #34: Redis at maxmemory with noeviction ("OOM command not allowed"). The shipper
// stops reading short of the limit and says why; when Redis is full all the same (its
// limit lowered under it, or other writers), the shipper keeps its offsets, the workers
// live through refused writes, and everything arrives once memory frees, without
// a restart. Its own Redis: a limit on the shared one would starve every other test.

const names = uniqueNames('redisfull');
const redis = { url: 'redis://127.0.0.1:6396', dir: join(services.dir, 'redis-maxmemory-test') };
const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

async function memory(client: Redis): Promise<{ used: number; max: number }> {
  const info = await client.info('memory');
  return { used: Number(/^used_memory:(\d+)/m.exec(info)![1]), max: Number(/^maxmemory:(\d+)/m.exec(info)![1]) };
}

async function metricsOf(p: ShipperProcess): Promise<string> {
  const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(p.output())?.[1]);
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

async function healthOf(p: ShipperProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(p.output())?.[1]);
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Redis at maxmemory with noeviction', () => {
  it('the shipper pauses short of it and says so; a full Redis loses nothing; all arrives once memory frees', async () => {
    await rm(redis.dir, { recursive: true, force: true });
    await redisUp(redis);
    stops.push(
      () => rm(redis.dir, { recursive: true, force: true }),
      () => redisDown(redis.dir),
    );
    const admin = new Redis(redis.url);
    stops.push(() => admin.quit());
    const dir = await tempDir('redisfull');
    stops.push(() => cleanup(names, [dir]));
    mkdirSync(join(dir, 'log'));
    const LIMIT = 24 * 1024 * 1024;
    await admin.config('SET', 'maxmemory', String((await memory(admin)).used + LIMIT));

    // The backlog limit out of the way: memory is what stops the shipper here.
    const yaml = 'pollIntervalMs: 50\nhighWaterMark: 100000\nbatch:\n  maxRecords: 500\n  lingerMs: 50\n';
    const shipper = await startCliProcess('shipper', names, dir, yaml, { REDIS_URL: redis.url });
    stops.push(() => shipper.stop());
    // Far more than the limit: ~80 MB of lines, no worker yet.
    const TOTAL = 400_000;
    // The logger name carries the bulk, so the messages stay `line n` for tally().
    const pad = 'x'.repeat(160);
    const log = join(dir, 'log', 'carbon.log');
    for (let n = 0; n < TOTAL; ) {
      const chunk: string[] = [];
      for (let i = 0; i < 20_000; i++, n++) chunk.push(`INFO:${pad}:line ${n}\n`);
      appendFileSync(log, chunk.join(''));
    }

    await waitFor(
      () => /"cause":"redis_memory"[^\n]*"msg":"reading paused \(backpressure\)"/.test(shipper.output()),
      60_000,
      'the shipper to pause for Redis memory',
    );
    const near = await memory(admin);
    expect(near.used).toBeLessThan(near.max);
    expect(near.used).toBeGreaterThan(near.max * 0.85);
    expect(await metricsOf(shipper)).toMatch(/tta_carbon_reading_paused\{[^}]*cause="redis_memory"[^}]*\} 1/);
    const health = await healthOf(shipper);
    expect(health.status).toBe(200);
    expect(JSON.stringify(health.body)).toContain('"cause":"redis_memory"');

    // Redis full for real: the limit below what it holds, as another writer would make it.
    await admin.config('SET', 'maxmemory', String(near.used - 2 * 1024 * 1024));
    const worker = await startCliProcess('worker', names, dir, '', { REDIS_URL: redis.url, TTA_DATA_DIR: join(dir, 'worker-data') });
    stops.push(() => worker.stop());
    await waitFor(() => /OOM command not allowed/.test(worker.output() + shipper.output()), 30_000, 'Redis to refuse writes (OOM)');
    expect(shipper.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    // Memory frees (the operator raises the limit): the workers drain, the shipper reads on.
    await admin.config('SET', 'maxmemory', String(near.max));
    const es = esClient();
    try {
      await waitFor(
        async () => {
          await es.indices.refresh({ index: `${names.indexPrefix}-2*` }).catch(() => undefined);
          return (await es.count({ index: `${names.indexPrefix}-2*` }).catch(() => ({ count: 0 }))).count >= TOTAL;
        },
        240_000,
        'every line indexed',
        1000,
      );
      const oom = (p: ShipperProcess) =>
        p
          .output()
          .split('\n')
          .filter((l) => l.includes('OOM command not allowed'));
      console.log(
        `redis full: ${oom(shipper).length} shipper and ${oom(worker).length} worker log lines on OOM; said: ${[...new Set([...oom(shipper), ...oom(worker)].map((l) => /"msg":"([^"]*)/.exec(l)?.[1]))].join(' | ')}`,
      );
      const got = tally(await allMessages(es, `${names.indexPrefix}-2*`), TOTAL);
      expect(got).toEqual({ lost: 0, duplicated: 0, documents: TOTAL });
      await waitFor(() => /"msg":"reading resumed"/.test(shipper.output().split('redis_memory').at(-1)!), 10_000, 'the shipper to say it reads again');
      expect(await metricsOf(shipper)).not.toMatch(/tta_carbon_reading_paused\{[^}]*\} 1/);
      expect(shipper.child.exitCode).toBeNull();
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await es.close();
    }
  }, 360_000);
});
