import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ChaosProcess } from '../chaos/lib/cluster.js';
import { elasticsearchDown, elasticsearchUp, type LocalElasticsearch } from '../src/services/elasticsearch-server.js';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { followedLog } from './lib/followed-log.js';
import { rssMb } from './lib/proc.js';
import { record, unitNodeOptions, type Row } from './lib/report.js';

// npm run bench:memory [-- --outage 60 --rate 10000 --workers 1]
// Memory while a backlog builds and drains: a shipper and N workers (processes, the
// systemd units' NODE_OPTIONS) follow a carbon.log written at --rate lines/s (ten times
// bench:latency's steady 1,000) while their Elasticsearch is stopped for --outage
// seconds; then it starts again and the backlog drains. Elasticsearch is a node of the
// benchmark's own (port 9261), so stopping it touches nothing else. RSS is sampled
// every 200 ms per phase; Redis's memory shows the size of the backlog.

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const OUTAGE_S = arg('--outage', 60);
const RATE = arg('--rate', 10_000);
const WORKERS = arg('--workers', 1);

const services = servicesEnv();
await servicesUp(services, () => undefined);
const benchEs: LocalElasticsearch = {
  url: 'http://127.0.0.1:9261',
  dir: join(services.dir, 'elasticsearch-bench'),
  distDir: join(services.dir, 'elasticsearch'),
  heapMb: 512,
  runAsUser: 'tta-es',
  startTimeoutMs: 180_000,
};
await elasticsearchUp(benchEs);
const es = new Client({ node: benchEs.url });
const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });

const { dir, logDir, logFile, env, prefix, queueName, configFile } = await followedLog(services.dir, 'memory');
const procEnv = {
  TTA_ENV: env,
  TTA_LOG_DIR: logDir,
  TTA_DATA_DIR: join(dir, 'data'),
  REDIS_URL: services.redisUrl,
  ELASTICSEARCH_URL: benchEs.url,
  TTA_METRICS_PORT: '0',
  CARBON_LOG_LEVEL: 'info',
};
const shipper = new ChaosProcess('shipper', 'shipper', configFile, { ...procEnv, NODE_OPTIONS: await unitNodeOptions('tta-staging-carbon.service') });
const workerOptions = await unitNodeOptions('tta-carbon-worker.service');
const workers = Array.from(
  { length: WORKERS },
  (_, i) => new ChaosProcess(`worker ${i + 1}`, 'worker', configFile, { ...procEnv, NODE_OPTIONS: workerOptions }),
);
for (const p of [shipper, ...workers]) await p.start();

async function indexed(): Promise<number> {
  await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: `${prefix}-2*`, ignore_unavailable: true, allow_no_indices: true })).count;
}

// Warm up: templates installed and the day's index made before the clock starts.
appendFileSync(logFile, 'INFO:bench:warm-up\n');
while ((await indexed()) < 1) await sleep(200);
let written = 1;

/** Highest RSS of each process while `during` runs. */
async function peaks<T>(during: () => Promise<T>): Promise<{ result: T; rss: number[] }> {
  const procs = [shipper, ...workers];
  const rss = procs.map(() => 0);
  let running = true;
  const sampler = (async () => {
    while (running) {
      const now = await Promise.all(procs.map((p) => rssMb(p.pid!)));
      for (const [i, v] of now.entries()) rss[i] = Math.max(rss[i]!, v);
      await sleep(200);
    }
  })();
  const result = await during();
  running = false;
  await sampler;
  return { result, rss };
}

async function writeFor(seconds: number): Promise<void> {
  const lines = carbonLogRecords(seconds * RATE, 5);
  const start = Date.now();
  for (let due = 0; due < seconds * RATE; ) {
    due = Math.min(seconds * RATE, Math.floor(((Date.now() - start) / 1000) * RATE));
    let text = '';
    for (; written - 1 < due; written++) text += `${lines.next().value}\n`;
    if (text) appendFileSync(logFile, text);
    await sleep(20);
  }
}

const usedMb = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]) / 2 ** 20;
const queue = new Queue(queueName, { connection: redis });
const redisBefore = await usedMb();

// The outage: Elasticsearch stopped while the file grows; it is down until it answers again.
const outage = await peaks(async () => {
  const t0 = Date.now();
  await elasticsearchDown(benchEs.dir);
  await writeFor(OUTAGE_S);
  const backlog = { jobs: await queue.getWaitingCount(), redisMb: (await usedMb()) - redisBefore };
  await elasticsearchUp(benchEs);
  return { seconds: (Date.now() - t0) / 1000, ...backlog };
});
const drain = await peaks(async () => {
  const t0 = Date.now();
  while ((await indexed()) < written && Date.now() - t0 < 900_000) await sleep(500);
  return { seconds: (Date.now() - t0) / 1000, docs: await indexed() };
});

for (const p of [shipper, ...workers]) await p.stop();
const crashes = [shipper, ...workers].flatMap((p) => p.crashes);
await queue.obliterate({ force: true });
await queue.close();
for (const index of Object.keys(await es.indices.get({ index: `${prefix}-*`, allow_no_indices: true }))) await es.indices.delete({ index });
await es.close();
await redis.quit();
await elasticsearchDown(benchEs.dir);
await rm(dir, { recursive: true, force: true });
if (crashes.length > 0) throw new Error(crashes.join('\n'));

const rssCols = (rss: number[]): Row => ({
  'shipper peak RSS MB': rss[0]!,
  'worker peak RSS MB': rss
    .slice(1)
    .map((v) => v.toFixed(0))
    .join(', '),
});
await record(
  'Memory: a backlog built while Elasticsearch is down, then drained',
  `\`npm run bench:memory -- --outage ${OUTAGE_S} --rate ${RATE} --workers ${WORKERS}\`: one \`tta-carbon shipper\` and ${WORKERS} \`tta-carbon worker\` ` +
    `(default settings, the systemd units' NODE_OPTIONS) follow a carbon.log (the realistic mix) written at ${RATE.toLocaleString('en-US')} lines/s, ten times the latency ` +
    `benchmark's steady rate, for ${OUTAGE_S} s while their Elasticsearch node is stopped; it then starts again (the outage row runs until it answers) and the ` +
    `backlog drains until every line is counted in the index. RSS is the highest of samples every 200 ms within each phase; Redis MB is what the backlog added.`,
  [
    {
      phase: `Elasticsearch down, ${RATE.toLocaleString('en-US')} lines/s written`,
      seconds: outage.result.seconds,
      lines: written - 1,
      'jobs queued': outage.result.jobs,
      'Redis MB': outage.result.redisMb,
      ...rssCols(outage.rss),
    },
    {
      phase: 'Elasticsearch back, backlog drains',
      seconds: drain.result.seconds,
      lines: drain.result.docs - 1,
      'jobs queued': '',
      'Redis MB': '',
      ...rssCols(drain.rss),
    },
  ],
);
