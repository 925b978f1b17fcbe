import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/common/config/index.js';
import { CONTRACT_VERSION, type BatchJobData } from '../src/common/queue/contract.js';
import { clusterDown, clusterUp, localCluster, type LocalCluster } from '../src/services/elasticsearch-cluster.js';
import { elasticsearchPid } from '../src/services/elasticsearch-server.js';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { freePort } from '../src/services/process.js';
import { buildRequests } from '../src/worker/batch.js';
import { documentJson } from '../src/worker/bulk/body.js';
import { installTemplates } from '../src/worker/template.js';
import { benchContext, benchSanitizer } from './lib/batch-context.js';
import { carbonLogRecords } from './lib/corpus.js';
import { procStats, servicePids } from './lib/proc.js';
import { record, unitNodeOptions, type Row } from './lib/report.js';

// npm run bench:pipeline [-- --docs 300000 --workers 1,2,4 --rounds 3] [--cluster 3] [--profile DIR]
// End to end, file → shipper → Redis → workers → Elasticsearch, each a process of its
// own with default settings, against the ceiling measured in the same run: the same
// final documents (decoded and sanitized beforehand, not timed) bulk-indexed straight
// from memory by the client's bulk helper. Timed from the moment the file appears in
// front of idle processes until Elasticsearch has indexed every document. With
// --cluster N the pipelines also run, round by round, against N local nodes of one
// cluster (same zip, same heap each, one replica per shard) with ELASTICSEARCH_NODES.

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : dflt);
const DOCS = Number(arg('--docs', '300000'));
const WORKERS = arg('--workers', '1,2,4').split(',').map(Number);
const ROUNDS = Number(arg('--rounds', '3'));
const CLUSTER = Number(arg('--cluster', '0'));
// --profile DIR: the shipper and workers write V8 CPU profiles there (node --cpu-prof).
const PROFILE = process.argv.includes('--profile') ? arg('--profile', '') : '';
// (Node refuses --cpu-prof in NODE_OPTIONS: it goes on the command line.)
const profileArgs = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [];
const services = servicesEnv();
await servicesUp(services, () => undefined);
const es = new Client({ node: services.elasticsearchUrl });
const dir = join(services.dir, 'bench-pipeline');
await rm(dir, { recursive: true, force: true });
await mkdir(join(dir, 'staging'), { recursive: true });
const tag = Date.now().toString(36);

// The corpus, once, as a file and as the records a shipper would cut from it.
const staged = join(dir, 'staging', 'carbon.log');
const out = createWriteStream(staged);
const records: { offset: number; text: string }[] = [];
let offset = 0;
for (const text of carbonLogRecords(DOCS, 11)) {
  records.push({ offset, text });
  const line = `${text}\n`;
  offset += Buffer.byteLength(line);
  if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
}
await new Promise<void>((r) => out.end(r));
spawnSync('sync');

interface Target {
  label: string;
  es: Client;
  urls: string[];
  esPids: number[];
}

async function count(prefix: string, es: Client): Promise<number> {
  await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: `${prefix}-2*`, ignore_unavailable: true, allow_no_indices: true })).count;
}

// Progress without forcing a refresh: a refresh every poll would make Elasticsearch cut
// a segment four times a second and slow the very indexing being timed.
async function indexed(prefix: string, es: Client): Promise<number> {
  const stats = await es.indices.stats({ index: `${prefix}-2*`, metric: 'indexing' });
  return stats._all.primaries?.indexing?.index_total ?? 0;
}

async function drop(prefix: string, es: Client = single.es): Promise<void> {
  const found = await es.indices.get({ index: `${prefix}-*`, allow_no_indices: true, ignore_unavailable: true });
  for (const index of Object.keys(found)) await es.indices.delete({ index });
  for (const name of [prefix, `${prefix}-deadletter`]) await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
}

async function cpuOf(pids: number[]): Promise<number[]> {
  return Promise.all(pids.map(async (pid) => (await procStats(pid)).cpuSec));
}

const cpuCols = (esCpu: number, redisCpu: number, shipperCpu: number | string, clientCpu: number) => ({
  'CPU s: Elasticsearch': esCpu,
  'CPU s: Redis': redisCpu,
  'CPU s: shipper': shipperCpu,
  'CPU s: workers or client': clientCpu,
});

async function ceiling(label: string, target: Target, docs = records): Promise<Row> {
  const { es } = target;
  const prefix = `tta-benchceil${tag}${target.esPids.length}${label.replace(/\W/g, '')}-carbon`;
  await installTemplates(es, prefix);
  const batch: BatchJobData = { v: CONTRACT_VERSION, kind: 'log', host: 'bench', path: staged, fileId: `ceil-${tag}`, endOffset: offset, records: docs };
  const requests = buildRequests(batch, benchContext(prefix, benchSanitizer(), 'TTA')).requests.map((r) => ({
    index: r.index,
    id: r.id,
    json: documentJson(r),
  }));
  const es0 = (await cpuOf(target.esPids)).reduce((a, b) => a + b, 0);
  const [redis0] = await cpuOf([pids.redis]);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  // The documents go as the JSON the worker made: the helper sends a string payload
  // as it is, so the ceiling does not pay for serialising them.
  await es.helpers.bulk({
    datasource: requests,
    flushBytes: 5 * 1024 * 1024,
    concurrency: 2,
    retries: 3,
    onDocument: (r) => [{ create: { _index: r.index, _id: r.id } }, r.json] as never,
  });
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const es1 = (await cpuOf(target.esPids)).reduce((a, b) => a + b, 0);
  const [redis1] = await cpuOf([pids.redis]);
  const n = await count(prefix, es);
  await drop(prefix, es);
  return {
    path: `direct bulk from memory (ceiling, ${label})`,
    Elasticsearch: target.label,
    workers: '',
    docs: n,
    seconds,
    'docs/s': n / seconds,
    'ratio to ceiling': '',
    'peak RSS MB (shipper / workers)': '',
    ...cpuCols(es1 - es0, redis1! - redis0!, '', (client.user + client.system) / 1e6),
  };
}

function startRole(role: 'shipper' | 'worker', env: NodeJS.ProcessEnv, configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...profileArgs, 'bin/tta-carbon.js', '--config', configFile, role], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let outText = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      outText += d;
      if (outText.includes(`${role} started`)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

let runs = 0;

async function pipeline(workers: number, target: Target): Promise<Row> {
  // Each run its own directories, queue and indices: nothing carries over from the last.
  const run = ++runs;
  const env = `benchpipe${tag}r${run}w${workers}`;
  const prefix = `tta-${env}-carbon`;
  const queueName = `bench-pipeline-${tag}-${run}`;
  const runDir = join(dir, `run${run}`);
  await mkdir(join(runDir, 'log'), { recursive: true });
  const configFile = join(runDir, 'config.yaml');
  await writeFile(configFile, `redis:\n  queue: ${queueName}\n`);
  const procEnv = {
    TTA_ENV: env,
    TTA_LOG_DIR: join(runDir, 'log'),
    TTA_DATA_DIR: join(runDir, 'data'),
    REDIS_URL: services.redisUrl,
    ...(target.urls.length > 1 ? { ELASTICSEARCH_NODES: target.urls.join(',') } : { ELASTICSEARCH_URL: target.urls[0]! }),
    TTA_METRICS_PORT: '0',
    CARBON_LOG_LEVEL: 'warn',
  };
  // Each process as its systemd unit runs it (same NODE_OPTIONS).
  const ws = await Promise.all(
    Array.from({ length: workers }, () => startRole('worker', { ...procEnv, CARBON_LOG_LEVEL: 'info', NODE_OPTIONS: workerNodeOptions }, configFile)),
  );
  const shipper = await startRole('shipper', { ...procEnv, CARBON_LOG_LEVEL: 'info', NODE_OPTIONS: shipperNodeOptions }, configFile);
  const copy = join(runDir, 'carbon.log');
  spawnSync('cp', [staged, copy]);
  const all = [...target.esPids, pids.redis, shipper.pid!, ...ws.map((w) => w.pid!)];
  const cpu0 = await cpuOf(all);
  await rename(copy, join(runDir, 'log', 'carbon.log'));
  const t0 = performance.now();
  while ((await indexed(prefix, target.es)) < DOCS && performance.now() - t0 < 900_000) await sleep(100);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = (await cpuOf(all)).map((c, i) => c - cpu0[i]!);
  const esCpu = cpu.splice(0, target.esPids.length).reduce((a, b) => a + b, 0);
  const n = await count(prefix, target.es);
  const rss = await Promise.all([shipper, ...ws].map(async (c) => (await procStats(c.pid!)).peakRssMb.toFixed(0)));
  for (const c of [shipper, ...ws]) {
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
  const queue = new Queue(queueName, { connection: redis });
  await queue.obliterate({ force: true });
  await queue.close();
  await drop(prefix, target.es);
  await rm(runDir, { recursive: true, force: true });
  return {
    path: 'file → shipper → Redis → workers → Elasticsearch',
    Elasticsearch: target.label,
    workers,
    docs: n,
    seconds,
    'docs/s': n / seconds,
    'ratio to ceiling': '',
    'peak RSS MB (shipper / workers)': `${rss[0]} / ${rss.slice(1).join(', ')}`,
    ...cpuCols(
      esCpu,
      cpu[0]!,
      cpu[1]!,
      cpu.slice(2).reduce((a, b) => a + b, 0),
    ),
  };
}

const shipperNodeOptions = await unitNodeOptions('tta-staging-carbon.service');
const workerNodeOptions = await unitNodeOptions('tta-carbon-worker.service');
const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const pids = await servicePids(es, redis);
const single: Target = { label: '1 node', es, urls: [services.elasticsearchUrl], esPids: [pids.elasticsearch] };
const targets: Target[] = [single];
let cluster: LocalCluster | undefined;
if (CLUSTER > 1) {
  const ports = await Promise.all(Array.from({ length: CLUSTER }, async () => ({ http: await freePort(), transport: await freePort() })));
  cluster = localCluster(services, `tta-bench-${tag}`, join(dir, 'cluster'), ports, services.heapMb);
  await clusterUp(cluster);
  const clusterEs = new Client({ nodes: cluster.urls });
  const esPids = await Promise.all(cluster.nodes.map(async (n) => (await elasticsearchPid(n.dir))!));
  targets.push({ label: `${CLUSTER} nodes`, es: clusterEs, urls: cluster.urls, esPids });
}
// A freshly started node indexes at half speed until its JIT is warm: warm it first,
// untimed. Runs on this machine vary by ±15 %, so the ceiling and the pipelines take
// turns, round after round, and the medians are compared.
for (const target of targets) await ceiling('warm-up', target, records.slice(0, Math.min(records.length, 100_000)));
const rows: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const target of targets) {
    const ceil = await ceiling(`round ${round}`, target);
    ceil['ratio to ceiling'] = 1;
    rows.push(ceil);
    for (const w of WORKERS) {
      const row = await pipeline(w, target);
      row['ratio to ceiling'] = (row['docs/s'] as number) / (ceil['docs/s'] as number);
      rows.push(row);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const rate = (pick: (r: Row) => boolean) => median(rows.filter(pick).map((r) => r['docs/s'] as number));
const summary: Row[] = targets.flatMap((target) => {
  const ceilingMedian = rate((r) => String(r.path).startsWith('direct') && r.Elasticsearch === target.label);
  const blank = { 'peak RSS MB (shipper / workers)': '', 'CPU s: Elasticsearch': '', 'CPU s: Redis': '', 'CPU s: shipper': '', 'CPU s: workers or client': '' };
  return [
    {
      path: `median of ${ROUNDS} rounds: ceiling`,
      Elasticsearch: target.label,
      workers: '',
      docs: DOCS,
      seconds: DOCS / ceilingMedian,
      'docs/s': ceilingMedian,
      'ratio to ceiling': 1,
      ...blank,
    },
    ...WORKERS.map((w) => {
      const piped = rate((r) => r.workers === w && r.Elasticsearch === target.label);
      return {
        path: `median of ${ROUNDS} rounds`,
        Elasticsearch: target.label,
        workers: w,
        docs: DOCS,
        seconds: DOCS / piped,
        'docs/s': piped,
        'ratio to ceiling': piped / ceilingMedian,
        ...blank,
      };
    }),
  ];
});
rows.push(...summary);
await redis.quit();
for (const t of targets) await t.es.close();
if (cluster) await clusterDown(cluster);
await rm(dir, { recursive: true, force: true });

await record(
  'End to end: file to indexed documents, against the direct-bulk ceiling',
  `\`npm run bench:pipeline -- --docs ${DOCS} --workers ${WORKERS.join(',')} --rounds ${ROUNDS}${CLUSTER > 1 ? ` --cluster ${CLUSTER}` : ''}\`: ${DOCS.toLocaleString('en-US')} realistic carbon.log records ` +
    `(${(offset / 2 ** 20).toFixed(0)} MiB; text, JSON, tracebacks). Pipeline: one \`tta-carbon shipper\` and N \`tta-carbon worker\` processes (default settings, NODE_OPTIONS as in the systemd units: ` +
    `worker concurrency ${loadConfig({ env: {} }).worker.concurrency}, 5 MiB bulk requests), timed from the file's appearance until Elasticsearch has indexed every document (indexing stats, polled every 100 ms without forcing a refresh; ` +
    `a refreshed count then checks the total). Ceiling: the same final documents (decoded and sanitized before the clock starts) through the client's bulk helper ` +
    `(5 MiB flushes, concurrency 2), timed until the helper returns. After an untimed warm-up, the ceiling and the pipelines take turns for each round; a row's ratio is to its round's ceiling, and the last rows compare medians. ` +
    (CLUSTER > 1
      ? `Also against a local cluster of ${CLUSTER} nodes (each the same zip and ${services.heapMb} MiB heap as the single node, one replica per shard, all on the same 2 cores), its CPU the sum of its nodes'. `
      : '') +
    `Default 1 s refresh; everything on this 2-core machine, Elasticsearch included. CPU seconds are each process's own during the timed part (/proc); for the ceiling, "client" is the benchmark process.`,
  rows,
);
