import type { Client } from '@elastic/elasticsearch';
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { BATCH_JOB, isBatchJobData, type BatchJobData } from '../common/queue/contract.js';
import { buildRequests } from './batch.js';
import { BulkIndexer, type IndexReport } from './bulk/indexer.js';
import { UnknownJobError } from './errors.js';
import { Sanitizer } from './sanitize/sanitizer.js';
import { installTemplates } from './template.js';

export interface WorkerDeps {
  connection: ConnectionOptions;
  elasticsearch: Client;
  logger: Logger;
  now?: () => Date;
}

/** Consumes batches from the queue and indexes them; any number may share one queue. */
export class CarbonWorker {
  private worker: Worker<BatchJobData, IndexReport> | null = null;
  private readonly indexer: BulkIndexer;
  private readonly sanitizer: Sanitizer;
  private readonly now: () => Date;
  readonly totals: IndexReport = { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };

  constructor(private readonly config: Config, private readonly deps: WorkerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.sanitizer = new Sanitizer(config.sanitizer);
    this.indexer = new BulkIndexer(
      deps.elasticsearch,
      {
        indexPrefix: config.elasticsearch.indexPrefix, environment: config.environment,
        attemptsPerJob: 5, baseDelayMs: 200, maxDelayMs: 5_000, maxBulkBytes: 5 * 1024 * 1024,
      },
      deps.logger,
      this.now,
      (text) => this.sanitizer.sanitizeString(text).text,
    );
  }

  async start(): Promise<void> {
    await installTemplates(this.deps.elasticsearch, this.config.elasticsearch.indexPrefix);
    const { concurrency, backoffMs } = this.config.worker;
    this.worker = new Worker<BatchJobData, IndexReport>(this.config.redis.queue, (job) => this.process(job), {
      connection: this.deps.connection,
      concurrency,
      // A worker that died mid-job: its job goes back to waiting, many times if need be;
      // indexing is idempotent, so a second delivery costs nothing but time.
      maxStalledCount: 100,
      settings: { backoffStrategy: (attemptsMade) => Math.min(60_000, backoffMs * 2 ** Math.max(0, attemptsMade - 1)) },
    });
    this.worker.on('failed', (job, err) => {
      this.deps.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'batch not finished; BullMQ will retry it');
    });
    this.worker.on('error', (err) => this.deps.logger.error({ err }, 'worker error'));
    this.deps.logger.info({ queue: this.config.redis.queue, concurrency }, 'worker started');
  }

  /** Lets running jobs finish (or hands them back when they cannot), then disconnects. */
  async stop(): Promise<void> {
    await this.worker?.close();
    this.deps.logger.info('worker stopped');
  }

  private async process(job: Job<BatchJobData, IndexReport>): Promise<IndexReport> {
    if (job.name !== BATCH_JOB || !isBatchJobData(job.data)) throw new UnknownJobError(job.id);
    const { requests, refused } = buildRequests(job.data, {
      environment: this.config.environment,
      indexPrefix: this.config.elasticsearch.indexPrefix,
      timeZone: this.config.timeZone,
      retentionDays: this.config.retentionDays,
      now: this.now(),
      queuedAt: new Date(job.timestamp),
      sanitizer: this.sanitizer,
    });
    const report = await this.indexer.index(requests, refused);
    for (const key of Object.keys(report) as (keyof IndexReport)[]) this.totals[key] += report[key];
    return report;
  }
}
