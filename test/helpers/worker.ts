import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { loadConfig, type Config } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { BATCH_JOB, CONTRACT_VERSION, type BatchJobData, type CsvRecord, type LogRecord, type ReportRecord } from '../../src/common/queue/contract.js';
import { BulkAnswerSerializer } from '../../src/worker/bulk/answer.js';
import { CarbonWorker, type WorkerDeps } from '../../src/worker/worker.js';
import { esClient, redisClient, services, waitFor, type uniqueNames } from './services.js';

/** A real worker on a test's own queue and index prefix, plus the queue to feed it. */
export async function startTestWorker(names: ReturnType<typeof uniqueNames>, tweak: (c: Config) => void = () => undefined, extra: Partial<WorkerDeps> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'tta-worker-'));
  const config = loadConfig({
    env: { TTA_ENV: names.environment, TTA_DATA_DIR: dataDir, REDIS_URL: services.redisUrl, ELASTICSEARCH_URL: services.elasticsearchUrl },
  });
  config.redis.queue = names.queue;
  tweak(config);
  const connection = redisClient();
  const queue = new Queue<BatchJobData>(names.queue, { connection });
  // The client as the worker's process makes it (runtime.ts).
  const elasticsearch = esClient({ Serializer: BulkAnswerSerializer });
  const worker = new CarbonWorker(config, { connection: redisClient(), elasticsearch, logger: createLogger({ level: 'silent' }), ...extra });
  await worker.start();
  let jobs = 0;
  return {
    config,
    queue,
    worker,
    async add(data: BatchJobData) {
      jobs++;
      await queue.add(BATCH_JOB, data, { jobId: `${data.fileId}_${data.records[0]!.offset}` });
    },
    /** Waits until every job added so far has completed. */
    async drained(timeoutMs = 30_000) {
      await waitFor(async () => (await queue.getCompletedCount()) >= jobs, timeoutMs, `${jobs} jobs to complete`);
    },
    async stop() {
      await worker.stop();
      await queue.close();
      await connection.quit();
      await elasticsearch.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    /** Every job done, the worker stopped, and its indices refreshed so all of it is searchable. */
    async finish(timeoutMs = 30_000) {
      await this.drained(timeoutMs);
      await this.stop();
      const es = esClient();
      await es.indices.refresh({ index: `${names.indexPrefix}-*` });
      await es.close();
    },
  };
}

export function logBatch(fileId: string, lines: string[], startOffset = 0): BatchJobData {
  let offset = startOffset;
  const records: LogRecord[] = lines.map((text) => {
    const r = { offset, text };
    offset += Buffer.byteLength(text) + 1;
    return r;
  });
  return { v: CONTRACT_VERSION, kind: 'log', host: 'test-host', path: '/logs/carbon.log', fileId, endOffset: offset, records };
}

/** A carbon.log batch of one chunk, whose bytes travel beside the job (attached apart, as the shipper does). */
export function linesBatch(fileId: string, bytes: Buffer): BatchJobData {
  return {
    v: CONTRACT_VERSION,
    kind: 'lines',
    host: 'h',
    path: '/logs/carbon.log',
    fileId,
    endOffset: bytes.length,
    records: [{ offset: 0, end: bytes.length }],
    grouping: { startPattern: '^INFO', maxLines: 10, maxBytes: 4096 },
  };
}

/** codecarbon emissions.csv rows (objects keyed by column) as the shipper sends them. */
export function csvBatch(fileId: string, rows: Record<string, string>[], startOffset = 0): BatchJobData {
  const records: CsvRecord[] = rows.map((row, i) => ({ offset: startOffset + i * 500, row }));
  return { v: CONTRACT_VERSION, kind: 'csv', host: 'test-host', path: '/cc/emissions.csv', fileId, endOffset: startOffset + rows.length * 500, records };
}

export function reportBatch(
  fileId: string,
  report: { project_name: string; timestamp: string; total_emissions: number; unit: string; functions: Record<string, unknown> },
): BatchJobData {
  const { functions, ...summary } = report;
  const records: ReportRecord[] = [{ offset: 0, report: { part: 'summary', fields: summary } }];
  for (const [i, [key, entry]] of Object.entries(functions).entries())
    records.push({ offset: 100 + i * 100, report: { part: 'function', key, project: report.project_name, entry } });
  return { v: CONTRACT_VERSION, kind: 'report', host: 'test-host', path: `/cc/${fileId}.json`, fileId, endOffset: 100 + records.length * 100, records };
}
