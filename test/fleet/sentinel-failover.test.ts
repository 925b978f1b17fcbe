import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, countDocs, esClient, freePort, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { END_MESSAGE, allMessages, lineWriter, problemsOf, tally } from '../helpers/fleet.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #19: Redis with Sentinel, on loopback with Debian's redis-server: a primary, two
// replicas, three sentinels. `tta-carbon agent` and a worker find the primary through
// the sentinels, and each batch waits for one replica (redis.minReplicas 1). While lines are written,
// the primary is killed with -9; Sentinel promotes a replica. Every line must be in
// Elasticsearch exactly once, and the agent (shipper + scheduler) and the worker ride it.

const names = uniqueNames('sentinel');
const procs: ChildProcess[] = [];
let dir: string;
let run: ShipperProcess | undefined;
let worker: ShipperProcess | undefined;
const MASTER = 'tta';
const LINES = 100_000;

function redisServer(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  procs.push(child);
  return child;
}

const client = (port: number) => {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  c.on('error', () => undefined);
  return c;
};

afterAll(async () => {
  await run?.stop('SIGKILL');
  await worker?.stop('SIGKILL');
  for (const p of procs) p.kill('SIGKILL');
  await cleanup(names, dir ? [dir] : []);
});

describe('Redis Sentinel failover', () => {
  it('kill -9 of the primary while shipping: every line once', async () => {
    dir = await tempDir('sentinel');
    mkdirSync(join(dir, 'log'));
    const [p, r1, r2, s1, s2, s3] = (await Promise.all(Array.from({ length: 6 }, () => freePort()))) as [number, number, number, number, number, number];
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const primary = redisServer(['--port', String(p), ...common, '--dbfilename', 'p.rdb']);
    for (const [port, n] of [
      [r1, 1],
      [r2, 2],
    ] as const)
      redisServer(['--port', String(port), ...common, '--dbfilename', `r${n}.rdb`, '--replicaof', '127.0.0.1', String(p)]);
    for (const port of [r1, r2])
      await waitFor(
        async () =>
          /master_link_status:up/.test(
            await client(port)
              .info('replication')
              .catch(() => ''),
          ),
        30_000,
        `replica ${port} in sync`,
      );
    for (const port of [s1, s2, s3]) {
      const conf = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${MASTER} 127.0.0.1 ${p} 2\nsentinel down-after-milliseconds ${MASTER} 1000\nsentinel failover-timeout ${MASTER} 5000\nsentinel parallel-syncs ${MASTER} 2\n`,
      );
      redisServer([conf, '--sentinel']);
    }
    const sentinel = client(s1);
    const otherSentinels = async () => {
      const flat = (await sentinel.call('SENTINEL', 'master', MASTER).catch(() => [])) as string[];
      return Number(flat[flat.indexOf('num-other-sentinels') + 1]);
    };
    await waitFor(async () => (await otherSentinels()) === 2, 30_000, 'the sentinels to know each other');

    const file = join(dir, 'log', 'carbon.log');
    writeFileSync(file, '');
    // As deployed: an agent (shipper and scheduler) on the TTA host, a worker elsewhere.
    const redisEnv = {
      REDIS_URL: `redis://127.0.0.1:${p}`,
      REDIS_SENTINELS: [s1, s2, s3].map((s) => `127.0.0.1:${s}`).join(','),
      REDIS_SENTINEL_NAME: MASTER,
      TTA_REDIS_MIN_REPLICAS: '1',
    };
    const metricsPort = await freePort();
    run = await startCliProcess('agent', names, dir, 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20', { ...redisEnv, TTA_METRICS_PORT: String(metricsPort) });
    mkdirSync(join(dir, 'worker'));
    worker = await startCliProcess('worker', names, join(dir, 'worker'), '', {
      ...redisEnv,
      TTA_LOG_DIR: join(dir, 'log'),
      TTA_DATA_DIR: join(dir, 'worker', 'data'),
    });
    const writer = lineWriter(file, LINES);
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) >= 2_000, 60_000, 'the first lines');
    const killedAt = Date.now();
    primary.kill('SIGKILL');
    const promoted = await waitFor(
      async () => {
        const addr = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', MASTER).catch(() => null)) as string[] | null;
        return addr && Number(addr[1]) !== p ? Number(addr[1]) : null;
      },
      60_000,
      'a replica to be promoted',
      100,
    );
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    await writer.done;
    const es = esClient();
    await waitFor(
      async () => (await countDocs(`${names.indexPrefix}-2*`, { match_phrase: { message: END_MESSAGE } })) > 0,
      180_000,
      'the line after the last',
      500,
    ).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}: ${await countDocs(`${names.indexPrefix}-2*`)} indexed\n${problemsOf(run!.output())}\n${problemsOf(worker!.output())}`,
      );
    });
    const messages = await allMessages(es, `${names.indexPrefix}-2*`);
    await es.close();
    const t = tally(messages, LINES);
    console.log(
      `sentinel failover: primary killed, replica on ${promoted} promoted after ${failoverSeconds.toFixed(1)} s; ${LINES} lines written, ${t.documents - 1} documents, ${t.lost} lost, ${t.duplicated} duplicated`,
    );
    expect(t).toEqual({ lost: 0, duplicated: 0, documents: LINES + 1 });
    // The scheduler in the agent follows the new primary too: its /health says Redis is ready.
    const health = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/health`).catch(() => null);
        return res?.status === 200 ? ((await res.json()) as { checks: Record<string, boolean> }) : null;
      },
      30_000,
      "the agent's /health after the failover",
    );
    expect(health.checks.redis).toBe(true);
    expect(run!.child.exitCode).toBeNull();
    expect(worker!.child.exitCode).toBeNull();
    sentinel.disconnect();
  }, 240_000);
});
