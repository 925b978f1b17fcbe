import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { redisDown, redisUp } from '../../src/services/redis-server.js';
import { cleanup, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess, type ShipperProcess } from '../helpers/shipper.js';
import { rng } from '../helpers/random.js';

// The shipper killed with SIGKILL, and Redis stopped, in the middle of ingestion:
// every line written reaches the queue (replays may repeat some; none go missing).

const FAST = 'pollIntervalMs: 50\nbatch:\n  maxRecords: 500\n  lingerMs: 50\n';
let teardown: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
  teardown = [];
});

function missingOf(texts: string[], total: number): number[] {
  const seen = new Set(texts.map((t) => Number(/line (\d+)$/.exec(t)?.[1] ?? -1)));
  return Array.from({ length: total }, (_, i) => i).filter((i) => !seen.has(i));
}

/** Appends `total` numbered lines over about `ms` milliseconds while `during` runs. */
async function writeLines(file: string, total: number, ms: number): Promise<void> {
  const fd = openSync(file, 'a');
  const perTick = Math.ceil(total / (ms / 10));
  for (let n = 0; n < total; ) {
    const chunk: string[] = [];
    for (let i = 0; i < perTick && n < total; i++) chunk.push(`INFO:crash:line ${n++}\n`);
    writeSync(fd, chunk.join(''));
    await sleep(10);
  }
  closeSync(fd);
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('shipper crashes', () => {
  it('kill -9 at 10 random moments, restarted each time: no line missing', async () => {
    const names = uniqueNames('kill9');
    const dir = await tempDir('kill9');
    mkdirSync(join(dir, 'log'));
    const consumer = recordingConsumer(names.queue);
    let shipper: ShipperProcess = await startShipperProcess(names, dir, FAST);
    teardown.push(async () => {
      await shipper.stop();
      await consumer.close();
      await cleanup(names, [dir]);
    });
    const TOTAL = 100_000;
    const writing = writeLines(join(dir, 'log', 'carbon.log'), TOTAL, 12_000);
    const rand = rng(42);
    for (let kill = 0; kill < 10; kill++) {
      await sleep(300 + rand() * 900);
      await shipper.stop('SIGKILL');
      shipper = await startShipperProcess(names, dir, FAST);
    }
    await writing;
    await waitFor(() => missingOf(consumer.logTexts(), TOTAL).length === 0, 60_000, 'every line to arrive', 250);
    const arrived = consumer.records().length;
    console.log(`kill -9 x10: ${TOTAL} lines written, ${arrived} records arrived (${arrived - TOTAL} replayed duplicates)`);
    expect(missingOf(consumer.logTexts(), TOTAL)).toEqual([]);
  }, 180_000);

  it('Redis stopped for 30 s mid-stream: bounded RSS, nothing lost once it is back', async () => {
    const names = uniqueNames('redisdown');
    const dir = await tempDir('redisdown');
    mkdirSync(join(dir, 'log'));
    const redis = { url: 'redis://127.0.0.1:6391', dir: join(services.dir, 'redis-outage-test') };
    await redisUp(redis);
    const consumer = recordingConsumer(names.queue, redis.url);
    const shipper = await startShipperProcess(names, dir, FAST, { REDIS_URL: redis.url });
    teardown.push(async () => {
      await shipper.stop();
      await consumer.close();
      await redisDown(redis.dir);
      await rm(redis.dir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    });
    const TOTAL = 200_000;
    const writing = writeLines(join(dir, 'log', 'carbon.log'), TOTAL, 40_000);
    await waitFor(() => consumer.records().length > 10_000, 30_000, 'ingestion to be under way', 100);
    await redisDown(redis.dir);
    await sleep(30_000);
    expect(shipper.child.exitCode).toBeNull();
    await redisUp(redis);
    await writing;
    await waitFor(() => missingOf(consumer.logTexts(), TOTAL).length === 0, 90_000, 'every line to arrive', 500);
    const rss = await peakRssMb(shipper.child.pid!);
    console.log(`redis outage 30 s: shipper peak RSS ${rss.toFixed(0)} MB`);
    expect(rss).toBeLessThan(150);
  }, 240_000);
});
