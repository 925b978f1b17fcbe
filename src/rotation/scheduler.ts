import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import cronParser from 'cron-parser';
import type { Logger } from '../common/logging/logger.js';
import { systemClock, type Clock } from '../common/time/clock.js';

// Maintenance on a schedule, through BullMQ job schedulers. Index retention is one
// scheduler id shared by the whole cluster: however many `tta-carbon scheduler`
// processes upsert it, BullMQ keeps one schedule and hands each run to one worker.
// File rotation is per host (its own queue and id): every host rotates its own files.
// After downtime, upserting a job scheduler only plans the next future run, so a run
// missed while every scheduler was down would be skipped. At start, when the last
// recorded run is older than the pattern's previous occurrence, one catch-up job is
// added, with an id made from that occurrence so several schedulers add it once: a
// missed run happens once, not once per missed period and not never.

export interface ScheduleOptions {
  queuePrefix: string;
  hostName: string;
  rotatePattern: string;
  retentionPattern: string;
  timeZone: string;
}

export interface SchedulerDeps {
  connection: ConnectionOptions;
  logger: Logger;
  rotate: () => Promise<unknown>;
  retention: () => Promise<unknown>;
  /** When runs were missed and finished is judged by this clock (BullMQ keeps its own for firing). */
  now?: Clock;
}

export const RETENTION_SCHEDULER_ID = 'index-retention';

export function maintenanceQueues(o: Pick<ScheduleOptions, 'queuePrefix' | 'hostName'>) {
  return {
    cluster: `${o.queuePrefix}-maintenance`,
    host: `${o.queuePrefix}-rotate-${o.hostName.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
  };
}

export class MaintenanceScheduler {
  private readonly queues: Queue[] = [];
  private readonly workers: Worker[] = [];
  /** Finished runs, for metrics and health: name → time. */
  readonly lastSuccess = new Map<string, Date>();

  constructor(
    private readonly options: ScheduleOptions,
    private readonly deps: SchedulerDeps,
  ) {}

  async start(): Promise<void> {
    const names = maintenanceQueues(this.options);
    const tz = this.options.timeZone === 'local' ? undefined : this.options.timeZone;
    await this.schedule(names.cluster, RETENTION_SCHEDULER_ID, 'retention', this.options.retentionPattern, tz, this.deps.retention);
    await this.schedule(names.host, `rotate-${this.options.hostName}`, 'rotate', this.options.rotatePattern, tz, this.deps.rotate);
    this.deps.logger.info({ retention: this.options.retentionPattern, rotate: this.options.rotatePattern, tz: tz ?? 'local' }, 'scheduler started');
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.queues.map((q) => q.close()));
  }

  private async schedule(queueName: string, id: string, name: string, pattern: string, tz: string | undefined, run: () => Promise<unknown>): Promise<void> {
    const queue = new Queue(queueName, { connection: this.deps.connection });
    queue.on('error', (err) => this.deps.logger.warn({ err: err.message, queue: queueName }, 'maintenance queue error'));
    this.queues.push(queue);
    const opts = { removeOnComplete: 100, removeOnFail: 100, attempts: 3, backoff: { type: 'exponential' as const, delay: 10_000 } };
    await queue.upsertJobScheduler(id, { pattern, ...(tz && { tz }) }, { name, opts });
    const now = this.deps.now ?? systemClock;
    const lastKey = `${queueName}:last-run:${name}`;
    const client = await queue.client;
    const lastRun = Number(await client.get(lastKey));
    const previous = cronParser
      .parseExpression(pattern, { currentDate: new Date(now()), ...(tz && { tz }) })
      .prev()
      .getTime();
    if (lastRun > 0 && lastRun < previous) {
      this.deps.logger.warn(
        { name, lastRun: new Date(lastRun).toISOString(), missed: new Date(previous).toISOString() },
        'a scheduled run was missed while down; running it once now',
      );
      await queue.add(name, {}, { ...opts, jobId: `catchup-${id}-${previous}` });
    }
    const worker = new Worker(
      queueName,
      async (job: Job) => {
        const started = now();
        const result = await run();
        const finished = now();
        await client.set(lastKey, String(finished));
        this.lastSuccess.set(name, new Date(finished));
        this.deps.logger.info({ job: job.name, id: job.id, ms: finished - started }, `${name} run finished`);
        return result;
      },
      { connection: this.deps.connection, concurrency: 1 },
    );
    worker.on('failed', (job, err) => this.deps.logger.error({ job: job?.name, err: err.message }, `${name} run failed`));
    worker.on('error', (err) => this.deps.logger.warn({ err: err.message }, 'maintenance worker error'));
    this.workers.push(worker);
  }
}
