import { performance } from 'node:perf_hooks';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/common/config/index.js';
import { createLogger } from '../src/common/logging/logger.js';
import { BATCH_JOB, CONTRACT_VERSION, type BatchJobData } from '../src/common/queue/contract.js';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { buildRequests } from '../src/worker/batch.js';
import { documentJson } from '../src/worker/bulk/body.js';
import type { Sanitizer } from '../src/worker/sanitize/sanitizer.js';
import { installTemplates } from '../src/worker/template.js';
import { CarbonWorker } from '../src/worker/worker.js';
import { benchContext, benchSanitizer } from './lib/batch-context.js';
import { carbonLogRecords } from './lib/corpus.js';
import { record } from './lib/report.js';

// npm run bench:worker [-- --docs N]
// Worker throughput (queue → decode → sanitize → bulk → Elasticsearch) against the
// ceiling measured in the same run: the same final documents bulk-indexed straight
// from memory by the client's bulk helper. Also the decode and sanitizer cost per doc.

const DOCS = Number(process.argv[process.argv.indexOf('--docs') + 1]) || 200_000;
const PER_JOB = 1000;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const es = new Client({ node: services.elasticsearchUrl });
const tag = Date.now().toString(36);

function jobs(): BatchJobData[] {
  const out: BatchJobData[] = [];
  let records: { offset: number; text: string }[] = [];
  let offset = 0;
  for (const text of carbonLogRecords(DOCS)) {
    records.push({ offset, text });
    offset += Buffer.byteLength(text) + 1;
    if (records.length === PER_JOB) {
      out.push({ v: CONTRACT_VERSION, kind: 'log', host: 'bench', path: '/bench/carbon.log', fileId: `bench-${tag}`, endOffset: offset, records });
      records = [];
    }
  }
  if (records.length)
    out.push({ v: CONTRACT_VERSION, kind: 'log', host: 'bench', path: '/bench/carbon.log', fileId: `bench-${tag}`, endOffset: offset, records });
  return out;
}

async function cleanup(prefix: string) {
  const found = await es.indices.get({ index: `${prefix}-*`, allow_no_indices: true, ignore_unavailable: true });
  if (Object.keys(found).length) await es.indices.delete({ index: Object.keys(found) });
  for (const name of [prefix, `${prefix}-deadletter`]) await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
}

async function countDocs(prefix: string) {
  await es.indices.refresh({ index: `${prefix}-*` });
  return (await es.count({ index: `${prefix}-2*` })).count;
}

const batches = jobs();
const sanitizer = benchSanitizer();
const off = benchSanitizer(false);
const ctxFor = (prefix: string, s: Sanitizer) => benchContext(prefix, s);

// Decode and sanitizer cost, in memory.
let t = performance.now();
for (const b of batches) buildRequests(b, ctxFor('x', off));
const decodeUs = ((performance.now() - t) * 1000) / DOCS;
t = performance.now();
for (const b of batches) buildRequests(b, ctxFor('x', sanitizer));
const withSanitizerUs = ((performance.now() - t) * 1000) / DOCS;

// Ceiling: final documents straight from memory with the bulk helper.
const direct = `tta-benchdirect${tag}-carbon`;
await installTemplates(es, direct);
const docs = batches.flatMap((b) => buildRequests(b, ctxFor(direct, sanitizer)).requests.map((r) => ({ index: r.index, id: r.id, json: documentJson(r) })));
t = performance.now();
// The documents go as the JSON the worker made: the helper sends a string payload as it is.
await es.helpers.bulk({
  datasource: docs,
  onDocument: (r: (typeof docs)[number]) => [{ create: { _index: r.index, _id: r.id } }, r.json],
  flushBytes: 5 * 1024 * 1024,
  concurrency: 2,
  onDrop: (d: { error: unknown }) => console.error('dropped', d.error),
} as never);
const directSec = (performance.now() - t) / 1000;
const directCount = await countDocs(direct);

// Pipeline: the same batches through Redis and the worker.
const piped = `tta-benchpipe${tag}-carbon`;
const config = loadConfig({ env: { TTA_ENV: `benchpipe${tag}`, REDIS_URL: services.redisUrl, ELASTICSEARCH_URL: services.elasticsearchUrl } });
config.redis.queue = `bench-worker-${tag}`;
const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue<BatchJobData>(config.redis.queue, { connection });
for (let i = 0; i < batches.length; i += 100) {
  await queue.addBulk(
    batches
      .slice(i, i + 100)
      .map((data) => ({ name: BATCH_JOB, data, opts: { jobId: `${data.fileId}_${data.records[0]?.offset ?? 0}`, removeOnComplete: true } })),
  );
}
const workerRedis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const workerEs = new Client({ node: services.elasticsearchUrl });
const worker = new CarbonWorker(config, { connection: workerRedis, elasticsearch: workerEs, logger: createLogger({ level: 'silent' }) });
t = performance.now();
await worker.start();
while (Object.values(await queue.getJobCounts('wait', 'active', 'delayed')).some((n) => n > 0)) {
  await new Promise((r) => setTimeout(r, 100));
}
const pipeSec = (performance.now() - t) / 1000;
const pipeCount = await countDocs(piped);
const rssMb = process.resourceUsage().maxRSS / 1024;
await worker.stop();
await workerRedis.quit();
await workerEs.close();
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
await cleanup(direct);
await cleanup(piped);
await es.close();

await record(
  'Worker: queue to Elasticsearch vs direct bulk',
  `\`npm run bench:worker -- --docs ${DOCS}\`: ${DOCS.toLocaleString('en-US')} realistic carbon.log records (text, JSON, tracebacks) in jobs of ${PER_JOB}; ` +
    `worker concurrency ${config.worker.concurrency}; direct = the same sanitized documents through the client's bulk helper (5 MiB flushes, concurrency 2). ` +
    `Both with the default 1 s refresh interval, on the same node, in one run. RSS is the benchmark process (worker in-process).`,
  [
    { path: 'direct bulk (ceiling)', docs: directCount, seconds: directSec, 'docs/s': directCount / directSec, ratio: 1 },
    { path: 'queue → worker → bulk', docs: pipeCount, seconds: pipeSec, 'docs/s': pipeCount / pipeSec, ratio: pipeCount / pipeSec / (directCount / directSec) },
    { path: 'decode only, in memory (µs/doc)', docs: DOCS, seconds: (decodeUs * DOCS) / 1e6, 'docs/s': 1e6 / decodeUs, ratio: '' },
    {
      path: 'decode + sanitize, in memory (µs/doc)',
      docs: DOCS,
      seconds: (withSanitizerUs * DOCS) / 1e6,
      'docs/s': 1e6 / withSanitizerUs,
      ratio: `sanitizer ${(withSanitizerUs - decodeUs).toFixed(1)} µs/doc`,
    },
    { path: `peak RSS ${rssMb.toFixed(0)} MB`, docs: '', seconds: '', 'docs/s': '', ratio: '' },
  ],
);
if (directCount !== DOCS || pipeCount !== DOCS) {
  console.error(`document counts differ from ${DOCS}: direct ${directCount}, pipeline ${pipeCount}`);
  process.exitCode = 1;
}
