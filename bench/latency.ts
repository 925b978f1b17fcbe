import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { freePort } from '../src/services/process.js';
import { followedLog, removeFollowedLog, runEnv } from './lib/followed-log.js';
import { record } from './lib/report.js';

// npm run bench:latency [-- --seconds 30 --rate 1000] [--min-replicas 1]
// Write-to-searchable latency: `tta-carbon run` (shipper + worker, default settings)
// follows a carbon.log written at a steady rate; each line carries the time it was
// written. Elasticsearch is searched (no forced refresh: the index's own 1 s refresh
// interval applies) every 50 ms, and a line's latency is when it was first found minus
// when it was written. The search period makes each figure late by up to 50 ms.
// --min-replicas N: a replica of the Redis is started beside it (redis-server on
// loopback) and the shipper waits for N replicas per batch (redis.minReplicas): the
// latency that costs.

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const SECONDS = arg('--seconds', 30);
const RATE = arg('--rate', 1000);
const MIN_REPLICAS = arg('--min-replicas', 0);
const services = servicesEnv();
await servicesUp(services, () => undefined);
const followed = await followedLog(services.dir, 'latency');
const { logFile, prefix, configFile } = followed;
let replica: ChildProcess | undefined;
if (MIN_REPLICAS > 0) {
  const port = await freePort();
  const primary = new URL(services.redisUrl);
  // A replica's full sync writes the primary's snapshot into --dir, whatever --save says.
  const replicaDir = join(followed.dir, 'replica');
  mkdirSync(replicaDir, { recursive: true });
  replica = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      replicaDir,
      '--replicaof',
      primary.hostname,
      primary.port || '6379',
    ],
    { stdio: 'ignore' },
  );
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  while (!/master_link_status:up/.test(await probe.info('replication').catch(() => ''))) await sleep(200);
  probe.disconnect();
}
const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'run'], {
  env: { ...runEnv(followed, services), TTA_REDIS_MIN_REPLICAS: String(MIN_REPLICAS) },
  stdio: 'ignore',
});
const es = new Client({ node: services.elasticsearchUrl });
// Warm up: the first line creates the day's index.
appendFileSync(logFile, `{"message":"warm-up","seq":-1,"written_ms":${Date.now()}}\n`);
while ((await es.count({ index: `${prefix}-2*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => ({ count: 0 }))).count === 0) await sleep(200);

const total = SECONDS * RATE;
const written = new Float64Array(total);
const seen = new Float64Array(total);
let next = 0;
let found = 0;
let writing = true;

async function writer(): Promise<void> {
  const start = Date.now();
  while (next < total) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * RATE));
    let text = '';
    for (; next < due; next++) {
      written[next] = Date.now();
      text += `{"timestamp":"${new Date(written[next]!).toISOString()}","level":"info","message":"latency ${next}","seq":${next}}\n`;
    }
    if (text) appendFileSync(logFile, text);
    await sleep(5);
  }
  writing = false;
}

async function searcher(): Promise<void> {
  let low = 0;
  const deadline = () => !writing && Date.now() - written[total - 1]! > 30_000;
  while (found < total && !deadline()) {
    const r = await es.search({
      index: `${prefix}-2*`,
      size: 10_000,
      _source: ['seq'],
      sort: [{ seq: 'asc' }],
      query: { range: { seq: { gte: low } } },
    });
    const now = Date.now();
    for (const h of r.hits.hits) {
      const seq = (h._source as { seq: number }).seq;
      if (seq >= 0 && seen[seq] === 0) {
        seen[seq] = now;
        found++;
      }
    }
    while (low < total && seen[low] !== 0) low++;
    await sleep(50);
  }
}

await Promise.all([writer(), searcher()]);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
replica?.kill('SIGTERM');
const lat: number[] = [];
for (let i = 0; i < total; i++) if (seen[i]! > 0) lat.push(seen[i]! - written[i]!);
lat.sort((a, b) => a - b);
const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! / 1000;
await removeFollowedLog(followed, es, services.redisUrl);
await es.close();

await record(
  'Latency: write to searchable',
  `\`npm run bench:latency -- --seconds ${SECONDS} --rate ${RATE}${MIN_REPLICAS ? ` --min-replicas ${MIN_REPLICAS}` : ''}\`: \`tta-carbon run\` (shipper + worker, default settings: 250 ms poll shortened by file events, 200 ms batch linger) ` +
    `follows a carbon.log written at ${RATE} lines/s for ${SECONDS} s; the index refresh interval is Elasticsearch's default, 1 s, never forced. ` +
    `Latency = first found by a search repeated every 50 ms, minus the write time (so up to 50 ms late).` +
    (MIN_REPLICAS ? ` With a Redis replica on loopback and redis.minReplicas ${MIN_REPLICAS}: each batch waits for WAIT before the shipper moves on.` : ''),
  [{ 'min replicas': MIN_REPLICAS, lines: total, found: lat.length, 'p50 s': q(0.5), 'p90 s': q(0.9), 'p99 s': q(0.99), 'max s': lat.at(-1)! / 1000 }],
);
