import type { Client } from '@elastic/elasticsearch';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import type { Metrics } from '../common/metrics/metrics.js';
import { BATCH_JOB, isBatchJobData, type BatchJobData } from '../common/queue/contract.js';
import { bytesOf } from './bytes.js';
import { requestSlices } from './batch.js';
import { RunIndexPins } from './runs/run-index.js';
import { backoffMs as backoff } from '../common/backoff.js';
import { EmissionsGauge } from './emissions-gauge.js';
import { emptyReport, type BulkIndexer, type IndexReport } from './bulk/indexer.js';
import { UnsafeRegexError } from '../common/regex/safe-regex.js';
import { PayloadPendingError, RetryLaterError, UnknownJobError } from './errors.js';
import { retireFailedJob } from './retire.js';
import { incarnationName } from './liveness/keys.js';
import { type Liveness, startLiveness } from './liveness/start.js';
import { Sanitizer } from './sanitize/sanitizer.js';
import { ElasticsearchWait } from './waiting.js';
import { waitCause } from './bulk/classify.js';
import { applyTally, type Tally } from './tally.js';
import { Targets } from './targets.js';

export interface WorkerDeps {
  /** Also reads the bytes beside carbon.log jobs (common/queue/payload.ts). */
  connection: Redis;
  elasticsearch: Client;
  logger: Logger;
  now?: () => Date;
  metrics?: Metrics;
}

// Events decoded and indexed at a time within one job (see index()).
const SLICE_EVENTS = 2_000;
// carbon_emissions_kg is read back from Elasticsearch this often: well inside the
// alert's `for: 5m`, and one small aggregation per worker.
const EMISSIONS_REFRESH_MS = 30_000;

/** Consumes batches from the queue and indexes them; any number may share one queue. */
export class CarbonWorker {
  private worker: Worker<BatchJobData, IndexReport> | null = null;
  private stopped = false;
  private readonly stopping = new AbortController();
  private liveness: Liveness | undefined;
  private gauge: EmissionsGauge | undefined;
  private readonly targets: Targets;
  private readonly sanitizer: Sanitizer;
  private readonly logPatterns: RegExp[];
  private readonly now: () => Date;
  readonly totals: IndexReport = emptyReport();
  /** What batches wait for Elasticsearch about (waiting.ts), for /health. */
  readonly waiting: ElasticsearchWait;

  constructor(
    private readonly config: Config,
    private readonly deps: WorkerDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.waiting = new ElasticsearchWait(() => this.now().getTime());
    this.sanitizer = new Sanitizer(config.sanitizer);
    this.targets = new Targets(config, {
      elasticsearch: deps.elasticsearch,
      logger: deps.logger,
      now: this.now,
      clean: (text) => this.sanitizer.sanitizeString(text).text,
    });
    this.logPatterns = config.worker.logPatterns.map((p) => new RegExp(p, 's'));
  }

  /**
   * Starts consuming once the index templates are in place. Until Elasticsearch answers
   * it keeps trying (and logging), so a worker started during an outage just waits;
   * indexing before the templates exist would create indices with guessed mappings.
   */
  async start(): Promise<void> {
    await this.targets.installPatiently(() => this.stopped, this.stopping.signal);
    if (this.stopped) return;
    const me = incarnationName(this.config.hostName, process.pid);
    this.liveness = await startLiveness(me, this.config, { ...this.deps, now: this.now });
    const { concurrency, backoffMs, maxBackoffMs, lockDurationMs } = this.config.worker;
    this.worker = new Worker<BatchJobData, IndexReport>(this.config.redis.queue, (job, token) => this.process(job, token), {
      connection: this.deps.connection,
      concurrency,
      // Shown as the job's processedBy: which host and process holds a batch.
      name: me,
      // A worker that died mid-job: its job goes back to waiting, many times if need be;
      // indexing is idempotent, so a second delivery costs nothing but time.
      maxStalledCount: 100,
      lockDuration: lockDurationMs,
      stalledInterval: lockDurationMs,
      settings: { backoffStrategy: (attemptsMade) => backoff(attemptsMade, backoffMs, maxBackoffMs) },
    });
    this.worker.on('failed', (job, err) => {
      const final = job && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1));
      this.deps.logger.warn(
        { jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        final ? 'batch failed for good' : 'batch not finished; BullMQ will retry it',
      );
      if (final) void this.retire(job, err);
    });
    this.worker.on('error', (err) => {
      // A batch another worker took over while this one was stopped or cut off
      // (liveness/): its copy landed on the same ids, and BullMQ refuses to finish it twice.
      if (/^Missing lock for job/.test(err.message))
        this.deps.logger.warn(
          { err: err.message },
          'a batch this worker held was taken over by another (this worker was stopped or cut off too long); its documents are the same, nothing is doubled',
        );
      else this.deps.logger.error({ err }, 'worker error');
    });
    this.worker.on('stalled', (jobId) => this.deps.logger.warn({ jobId }, 'batch stalled (its worker died or froze); it goes to another worker'));
    if (this.deps.metrics) {
      this.gauge = new EmissionsGauge({
        client: this.deps.elasticsearch,
        indexPrefix: this.config.elasticsearch.indexPrefix,
        gauges: {
          emissionsKg: this.deps.metrics.emissionsKg,
          lastHourKg: this.deps.metrics.lastHourKg,
          usualHourKg: this.deps.metrics.usualHourKg,
          unusualRatio: this.deps.metrics.unusualRatio,
        },
        logger: this.deps.logger,
        now: this.now,
        intervalMs: EMISSIONS_REFRESH_MS,
      });
      this.gauge.start();
    }
    this.deps.logger.info({ queue: this.config.redis.queue, concurrency }, 'worker started');
  }

  /** Lets running jobs finish (or hands them back when they cannot), then disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.gauge?.stop();
    await this.liveness?.stopReaping();
    await this.worker?.close();
    await this.liveness?.stop();
    this.deps.logger.info('worker stopped');
  }

  private async process(job: Job<BatchJobData, IndexReport>, token?: string): Promise<IndexReport> {
    try {
      const report = await this.index(job);
      if (this.waiting.clear()) this.deps.logger.info('Elasticsearch takes batches again');
      return report;
    } catch (err) {
      if (!(err instanceof RetryLaterError) || !token) throw err;
      if (err instanceof PayloadPendingError) this.deps.metrics?.indexFailures.inc({ reason: 'payload_pending' });
      else {
        const cause = waitCause(err.reason);
        this.deps.metrics?.indexFailures.inc({ reason: `elasticsearch_${cause}` });
        if (this.waiting.note(cause, err.reason)) this.deps.logger.warn({ cause, reason: err.reason }, this.waiting.degraded()!.detail);
      }
      // Elasticsearch cannot take the documents yet (outage, 429, 5xx). Waiting is not a
      // failure: the job goes back to delayed without spending one of its attempts, so
      // an outage of any length loses nothing. Attempts count only real faults.
      const { backoffMs, maxBackoffMs } = this.config.worker;
      const delay = backoff(job.attemptsStarted, backoffMs, maxBackoffMs);
      this.deps.logger.warn({ jobId: job.id, waits: job.attemptsStarted, delayMs: delay, reason: err.message }, 'batch waits for Elasticsearch');
      await job.moveToDelayed(this.now().getTime() + delay, token);
      throw new DelayedError();
    }
  }

  private async retire(job: Job, err: Error): Promise<void> {
    const { timeZone } = this.config;
    try {
      // A batch naming an invalid environment is dead-lettered under the worker's own.
      let where = this.targets.of({});
      try {
        where = this.targets.of(job.data as Partial<BatchJobData>);
      } catch {
        // keeps the worker's own
      }
      await retireFailedJob(job, err, {
        connection: this.deps.connection,
        indexer: where.indexer,
        sanitizer: this.sanitizer,
        logger: this.deps.logger,
        environment: where.environment,
        timeZone,
        indexPrefix: where.indexPrefix,
        projectName: this.config.project.name,
      });
      this.deps.metrics?.deadLettered.inc((job.data as { deadLettered?: number }).deadLettered ?? 0);
    } catch (retireErr) {
      this.deps.logger.error({ jobId: job.id, err: (retireErr as Error).message }, 'failed batch could not be dead-lettered; it stays whole in the failed set');
    }
  }

  private count(report: IndexReport, tally: Tally): void {
    const m = this.deps.metrics;
    if (!m) return;
    m.documentsIndexed.inc(report.indexed);
    m.duplicates.inc(report.duplicates);
    m.deadLettered.inc(report.deadLettered);
    m.retries.inc(report.retries);
    applyTally(m, tally);
    if (tally.runs > 0) this.gauge?.refreshSoon();
  }

  private async index(job: Job<BatchJobData, IndexReport>): Promise<IndexReport> {
    if (job.name !== BATCH_JOB || !isBatchJobData(job.data)) throw new UnknownJobError(job.id);
    let payload: Buffer | null = null;
    if (job.data.kind === 'lines') {
      const { connection } = this.deps;
      const bytes = await bytesOf(job, { connection, now: this.now, waitMs: this.config.worker.bytesWaitMs, stopped: () => this.stopped });
      if (bytes === 'wait') throw new PayloadPendingError(job.id);
      if (bytes === 'given-up') return this.givenUp(job);
      payload = bytes;
    }
    const { environment, indexPrefix, indexer } = this.targets.of(job.data);
    await this.targets.ensureTemplates(indexPrefix);
    const ctx = {
      environment,
      indexPrefix,
      timeZone: this.config.timeZone,
      retentionDays: this.config.retentionDays,
      now: this.now(),
      queuedAt: new Date(job.timestamp),
      sanitizer: this.sanitizer,
      logPatterns: this.logPatterns,
      projectName: this.config.project.name,
    };
    const report = emptyReport();
    try {
      await this.indexSlices(job, ctx, indexer, payload, report);
    } catch (err) {
      // A start pattern no worker may run: no retry can make it safe.
      if (err instanceof UnsafeRegexError) throw new UnrecoverableError(err.message);
      throw err;
    }
    return report;
  }

  /** Completed without its lines: its shipper queues them again, in another job, when it reads them. */
  private givenUp(job: Job<BatchJobData, IndexReport>): IndexReport {
    this.deps.metrics?.indexFailures.inc({ reason: 'bytes_never_attached' });
    const { path, fileId, endOffset, records } = job.data;
    this.deps.logger.warn(
      { jobId: job.id, path, fileId, from: records[0]?.offset, to: endOffset, waitedMs: this.config.worker.bytesWaitMs },
      'batch given up: its lines were never attached (its shipper stopped in between); a shipper that reads them again queues them in a new batch',
    );
    return emptyReport();
  }

  private async indexSlices(
    job: Job<BatchJobData, IndexReport>,
    ctx: Parameters<typeof requestSlices>[1],
    indexer: BulkIndexer,
    payload: Buffer | null,
    report: IndexReport,
  ): Promise<void> {
    // Slice by slice, so a worker holds a few thousand documents, not a whole job's. A
    // slice that must wait hands the job back; the slices already indexed come back as
    // duplicates (same ids) on the next try.
    const pins = new RunIndexPins(this.deps.connection, job.queueQualifiedName, (ctx.retentionDays + 1) * 86_400);
    for (const { requests, runs, refused, tally } of requestSlices(job.data, ctx, payload, SLICE_EVENTS)) {
      if (runs.length > 0) await pins.pin(ctx.environment, runs);
      const part = await indexer.index(requests, refused);
      for (const key of Object.keys(part) as (keyof IndexReport)[]) {
        report[key] += part[key];
        this.totals[key] += part[key];
      }
      this.count(part, tally);
    }
  }
}
