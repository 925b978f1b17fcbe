import { spawn, type ChildProcess } from 'node:child_process';
import { unitNodeOptions } from '../../bench/lib/report.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { elasticsearchDown, elasticsearchUp } from '../../src/services/elasticsearch-server.js';
import { redisClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { logBatch } from '../helpers/worker.js';

// Elasticsearch stopped for 60 s while 100,000 events flow through a worker running as
// its own process. A dedicated node (own port and data) is stopped, so the shared
// cluster other tests use is never touched. Afterwards: exactly 100,000 documents.

const TOTAL = 100_000;
const PER_JOB = 1_000;
const OUTAGE_MS = 60_000;
// The bound stated in README: worker RSS stays under this whatever the backlog.
const WORKER_RSS_LIMIT_MB = 300;

const names = uniqueNames('outage');
const port = 9250;
const url = `http://127.0.0.1:${port}`;
const nodeDir = join(services.dir, 'elasticsearch-outage-test');
const node = { url, dir: nodeDir, distDir: join(services.dir, 'elasticsearch'), heapMb: 512, runAsUser: 'tta-es', startTimeoutMs: 180_000 };
const connection = redisClient();
const queue = new Queue(names.queue, { connection });
let es: Client;
let worker: ChildProcess;
let workerLog = '';
let dir: string;

async function enqueue(fromJob: number, toJob: number): Promise<void> {
  const now = Date.now();
  for (let j = fromJob; j < toJob; j++) {
    const lines = Array.from({ length: PER_JOB }, (_, i) => {
      const n = j * PER_JOB + i;
      return `{"timestamp":"${new Date(now - (n % 3_600_000)).toISOString()}","level":"info","message":"event ${n}","n":${n}}`;
    });
    const data = logBatch(`outage-${j}`, lines);
    await queue.add(BATCH_JOB, data, { jobId: `outage-${j}_0` });
  }
}

function peakRssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmHWM:\s+(\d+) kB/.exec(s)![1]) / 1024);
}

async function count(): Promise<number> {
  await es.indices.refresh({ index: `${names.indexPrefix}-2*` });
  return (await es.count({ index: `${names.indexPrefix}-2*` })).count;
}

beforeAll(async () => {
  await elasticsearchUp(node);
  es = new Client({ node: url });
  dir = await tempDir('outage');
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, `redis:\n  queue: ${names.queue}\nworker:\n  concurrency: 2\n  backoffMs: 500\n  maxBackoffMs: 5000\n`);
  worker = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'worker'], {
    // The unit's NODE_OPTIONS: the bound is the shipped worker's. Without it, Node 24's
    // larger default young generation alone took the worker past the bound.
    env: {
      ...process.env,
      NODE_OPTIONS: await unitNodeOptions('tta-carbon-worker.service'),
      TTA_ENV: names.environment,
      REDIS_URL: services.redisUrl,
      TTA_METRICS_PORT: '0',
      ELASTICSEARCH_URL: url,
      CARBON_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d) => (workerLog = (workerLog + d).slice(-20_000)));
  worker.stderr!.on('data', (d) => (workerLog = (workerLog + d).slice(-20_000)));
  await waitFor(() => workerLog.includes('worker started'), 30_000, 'the worker to start');
}, 240_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await connection.quit();
  await es?.close();
  // The dedicated node and its data go away entirely.
  await elasticsearchDown(nodeDir);
  const { rm } = await import('node:fs/promises');
  await rm(nodeDir, { recursive: true, force: true });
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('Elasticsearch outage', () => {
  it('indexes exactly 100,000 events after a 60 s outage, worker RSS bounded', async () => {
    await enqueue(0, 30);
    await waitFor(async () => (await count()) > 5_000, 60_000, 'indexing to be under way', 500);

    await elasticsearchDown(nodeDir);
    const downAt = Date.now();
    await enqueue(30, TOTAL / PER_JOB);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
    expect(worker.exitCode).toBeNull();
    expect(workerLog).toContain('waits for Elasticsearch');

    await elasticsearchUp(node);
    await waitFor(
      async () =>
        (await queue.getJobCounts('wait', 'active', 'delayed')).wait === 0 &&
        (await queue.getJobCounts('active')).active === 0 &&
        (await queue.getJobCounts('delayed')).delayed === 0,
      180_000,
      'the backlog to drain',
      1000,
    );

    expect(await count()).toBe(TOTAL);
    // Every event number exactly once: the distinct count of `n` equals the total.
    const res = await es.search({
      index: `${names.indexPrefix}-2*`,
      size: 0,
      aggs: { n: { cardinality: { field: 'n', precision_threshold: 40_000 } }, max: { max: { field: 'n' } }, min: { min: { field: 'n' } } },
    });
    const aggs = res.aggregations as Record<string, { value: number }>;
    expect(aggs.min!.value).toBe(0);
    expect(aggs.max!.value).toBe(TOTAL - 1);
    expect(Math.abs(aggs.n!.value - TOTAL) / TOTAL).toBeLessThan(0.01);
    expect((await queue.getJobCounts('failed')).failed).toBe(0);

    const rss = await peakRssMb(worker.pid!);
    console.log(`outage test: worker peak RSS ${rss.toFixed(0)} MB`);
    expect(rss).toBeLessThan(WORKER_RSS_LIMIT_MB);
  }, 420_000);
});
