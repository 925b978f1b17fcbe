import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, countDocs, esClient, freePort, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #19: Redis with Sentinel, on loopback with Debian's redis-server: a primary, two
// replicas, three sentinels. `tta-carbon run` finds the primary through the sentinels
// and waits for one replica per batch (redis.minReplicas 1). While lines are written,
// the primary is killed with -9; Sentinel promotes a replica. Every line must be in
// Elasticsearch exactly once.

const names = uniqueNames('sentinel');
const procs: ChildProcess[] = [];
let dir: string;
let run: ShipperProcess | undefined;
const MASTER = 'tta';
const LINES = 12_000;

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
    run = await startCliProcess('run', names, dir, 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20', {
      REDIS_URL: `redis://127.0.0.1:${p}`,
      REDIS_SENTINELS: [s1, s2, s3].map((s) => `127.0.0.1:${s}`).join(','),
      REDIS_SENTINEL_NAME: MASTER,
      TTA_REDIS_MIN_REPLICAS: '1',
    });
    let written = 0;
    const write = (n: number) => {
      let text = '';
      for (let i = 0; i < n; i++) text += `INFO:fleet:line ${written++}\n`;
      appendFileSync(file, text);
    };
    const writer = (async () => {
      while (written < LINES) {
        write(200);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
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
    await writer;
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) >= LINES, 120_000, `all ${LINES} lines`, 500).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}: ${await countDocs(`${names.indexPrefix}-2*`)} indexed\n${run!
          .output()
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .slice(-10)
          .join('\n')}`,
      );
    });
    await new Promise((r) => setTimeout(r, 1500));
    const messages = await allMessages(`${names.indexPrefix}-2*`);
    console.log(
      `sentinel failover: primary killed, replica on ${promoted} promoted after ${failoverSeconds.toFixed(1)} s; ${LINES} lines written, ${messages.length} documents, ${new Set(messages).size} distinct`,
    );
    expect(new Set(messages).size).toBe(LINES);
    expect(messages).toHaveLength(LINES);
    sentinel.disconnect();
  }, 240_000);
});

/** Every document's message, past the 10,000 a single search returns. */
async function allMessages(pattern: string): Promise<string[]> {
  const es = esClient();
  try {
    await es.indices.refresh({ index: pattern });
    const out: string[] = [];
    let page = await es.search({ index: pattern, scroll: '1m', size: 5000, _source: ['message'], query: { match_all: {} } });
    while (page.hits.hits.length > 0) {
      for (const h of page.hits.hits) out.push(String((h._source as { message: string }).message));
      page = await es.scroll({ scroll_id: page._scroll_id!, scroll: '1m' });
    }
    return out;
  } finally {
    await es.close();
  }
}
