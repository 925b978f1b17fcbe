import { mkdir } from 'node:fs/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../common/config/index.js';
import { createElasticsearch } from '../common/elasticsearch/client.js';
import { createLogger, type Logger, logFormat } from '../common/logging/logger.js';
import { RecentWarnings } from '../common/logging/recent.js';
import { LogThrottle } from '../common/logging/throttle.js';
import { serveMetrics } from '../common/metrics/http.js';
import { systemClock } from '../common/time/clock.js';
import { CounterFeed, type Metrics } from '../common/metrics/metrics.js';
import { BatchQueue } from '../common/queue/queue.js';
import { createRedis, redisLabel } from '../common/redis/connection.js';
import { Sanitizer } from '../worker/sanitize/sanitizer.js';

// Wiring for the long-running roles: every dependency is made here and passed in, so
// the parts themselves hold no globals and tests can build them with their own. Each
// role loads its own code when started: the shipper, on every TTA host, carries
// neither the worker nor the Elasticsearch client (less start-up CPU and memory).

import type { Stoppable } from './lifecycle.js';
import { ConfigError } from '../common/config/index.js';

/** A running role: stops, refreshes its gauges before a scrape, says whether it is healthy. */
export type { Stoppable };
export interface Part extends Stoppable {
  refresh?(): Promise<void>;
  healthy?(): Record<string, boolean>;
  /** Causes that keep the part working but not as it should (Elasticsearch blocking writes, say), by subsystem. */
  degraded?(): Record<string, unknown>;
}

/** A recurring connection error, logged at most once a minute with how many were held back. */
function throttled(logger: Logger, msg: string): (err: Error) => void {
  const throttle = new LogThrottle(systemClock);
  return (err) => {
    const due = throttle.due();
    if (due) logger.warn({ err: err.message, ...due }, msg);
  };
}

/** The configuration and this process's logger; `--log-format` (`format`) wins over the configured one. */
export function setup(configFile: string | undefined, format?: 'pretty' | 'json'): { config: Config; logger: Logger; recent: RecentWarnings } {
  const config = loadConfig({ file: configFile });
  const recent = new RecentWarnings(systemClock);
  const logger = createLogger({
    level: config.logLevel,
    format: format ?? logFormat(config.logFormat, process.stdout.isTTY === true),
    clean: cleanerFor(config),
    recent,
  });
  return { config, logger, recent };
}

const cleaners = new WeakMap<Config, (text: string) => string>();

/** The sanitizer's string cleaner for this process's own logs and /metrics labels: one per config, compiled once. */
export function cleanerFor(config: Config): ((text: string) => string) | undefined {
  if (!config.sanitizer.enabled) return undefined;
  let clean = cleaners.get(config);
  if (!clean) {
    const sanitizer = new Sanitizer(config.sanitizer);
    clean = (text) => sanitizer.sanitizeString(text).text;
    cleaners.set(config, clean);
  }
  return clean;
}

export async function startShipper(config: Config, logger: Logger, metrics?: Metrics): Promise<Part> {
  const [{ Registry }, { Shipper }, { loadInstance }] = await Promise.all([
    import('../shipper/registry.js'),
    import('../shipper/shipper.js'),
    import('../shipper/instance.js'),
  ]);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const instance = await loadInstance(config.dataDir, config.hostName, () => new Date(), logger);
  const { registry, recoveredFrom, rejected } = await Registry.open(config.dataDir);
  if (rejected.length) logger.warn({ rejected, recoveredFrom }, 'registry copies were unreadable; resumed from the newest good one');
  const redis = createRedis(config.redis);
  redis.on('error', throttled(logger.child({ redis: redisLabel(config.redis) }), 'redis connection problem'));
  const queue = new BatchQueue({
    name: config.redis.queue,
    connection: redis,
    maxAttempts: config.worker.maxAttempts,
    backoffMs: config.worker.backoffMs,
    minReplicas: config.redis.minReplicas,
    replicaTimeoutMs: config.redis.replicaTimeoutMs,
  });
  queue.queue.on('error', throttled(logger, 'queue error'));
  const shipper = new Shipper(config, {
    registry,
    source: instance.id,
    enqueue: (batch, payload, rebuild) => queue.add(batch, payload, rebuild),
    backlog: () => queue.backlog(),
    redisMemory: () => queue.memory(),
    redisReady: () => redis.status === 'ready',
    logger: logger.child({ role: 'shipper' }),
  });
  redis.on('ready', () => shipper.nudge());
  await shipper.start();
  const feed = new CounterFeed();
  return {
    async stop() {
      await shipper.stop();
      await queue.close();
      await quit(redis);
    },
    async refresh() {
      if (!metrics) return;
      const stats = shipper.stats();
      feed.advance(metrics.linesRead, stats.linesRead);
      feed.advance(metrics.bytesRead, stats.bytesRead);
      feed.advance(metrics.recordsEnqueued, stats.recordsEnqueued);
      feed.advance(metrics.batchesEnqueued, stats.batchesEnqueued);
      for (const [kind, n] of Object.entries(stats.problems)) feed.advance(metrics.inputProblems, n, { kind });
      for (const [reason, n] of Object.entries(stats.enqueueFailures)) feed.advance(metrics.enqueueFailures, n, { reason });
      metrics.inputRefused.reset();
      for (const path of shipper.refused.keys()) metrics.inputRefused.set({ path }, 1);
      metrics.readingPaused.reset();
      const paused = shipper.paused();
      if (paused) metrics.readingPaused.set({ cause: paused.cause }, 1);
      for (const [path, bytes] of await shipper.unshippedBytes()) metrics.unshippedBytes.set({ path }, bytes);
      for (const [path, bytes] of await shipper.fileSizes()) metrics.fileSize.set({ path }, bytes);
    },
    healthy: () => ({ redis: redis.status === 'ready' }),
    degraded: () => {
      // A backlog is the workers being behind, said by the queue gauges; Redis near full
      // or gone is what an operator must act on.
      const out: Record<string, unknown> = {};
      const paused = shipper.paused();
      if (paused && paused.cause !== 'queue_backlog') out.shipper = { cause: paused.cause, reason: paused.reason, since: new Date(paused.since).toISOString() };
      // Shipping goes on without it, but a restart would replay from the last good save.
      const unsaved = shipper.registryUnsaved();
      if (unsaved) out.registry = { cause: 'registry_unsaved', reason: unsaved.reason, since: new Date(unsaved.since).toISOString() };
      return out;
    },
  };
}

export async function startWorker(config: Config, logger: Logger, metrics?: Metrics): Promise<Part> {
  const [{ CarbonWorker }, { BulkAnswerSerializer }] = await Promise.all([import('../worker/worker.js'), import('../worker/bulk/answer.js')]);
  const redis = createRedis(config.redis);
  redis.on('error', throttled(logger.child({ redis: redisLabel(config.redis) }), 'redis connection problem'));
  const elasticsearch = await createElasticsearch(config.elasticsearch, { Serializer: BulkAnswerSerializer });
  const worker = new CarbonWorker(config, { connection: redis, elasticsearch, logger: logger.child({ role: 'worker' }), metrics });
  const counts = new Queue(config.redis.queue, { connection: redis });
  counts.on('error', () => undefined);
  // Not awaited: a worker waits for Elasticsearch in the background and still obeys SIGTERM.
  const started = worker.start().catch((err) => logger.error({ err }, 'worker failed to start'));
  return {
    async stop() {
      await worker.stop();
      await started;
      await counts.close();
      await quit(redis);
      await elasticsearch.close();
    },
    async refresh() {
      if (!metrics || redis.status !== 'ready') return;
      const c = await counts.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(c)) metrics.queueJobs.set({ state }, n);
    },
    healthy: () => ({ redis: redis.status === 'ready' }),
    degraded: () => {
      const waiting = worker.waiting.degraded();
      return waiting ? { elasticsearch: waiting } : {};
    },
  };
}

export async function startScheduler(config: Config, logger: Logger, metrics?: Metrics): Promise<Part> {
  const [{ maintenanceJobs }, { MaintenanceScheduler }] = await Promise.all([import('../rotation/jobs.js'), import('../rotation/scheduler.js')]);
  const redis = createRedis(config.redis);
  redis.on('error', throttled(logger.child({ redis: redisLabel(config.redis) }), 'redis connection problem'));
  const elasticsearch = await createElasticsearch(config.elasticsearch);
  const log = logger.child({ role: 'scheduler' });
  const scheduler = new MaintenanceScheduler(
    {
      queuePrefix: config.redis.queue,
      hostName: config.hostName,
      rotatePattern: config.schedule.rotate,
      retentionPattern: config.schedule.retention,
      timeZone: config.schedule.timeZone,
    },
    { connection: redis, logger: log, now: systemClock, ...maintenanceJobs(config, { elasticsearch, logger: log, now: systemClock, metrics }) },
  );
  await scheduler.start();
  return {
    async stop() {
      await scheduler.stop();
      await quit(redis);
      await elasticsearch.close();
    },
    healthy: () => ({ redis: redis.status === 'ready' }),
  };
}

/** /metrics and /health for the parts of this process; returns something to stop it. */
export async function startMetricsServer(config: Config, metrics: Metrics, parts: Part[], logger: Logger, recent?: RecentWarnings): Promise<Stoppable> {
  if (!config.metrics.enabled) return { stop: async () => undefined };
  metrics.up.set(1);
  const server = await serveMetrics(
    metrics,
    async () => {
      const checks = Object.assign({}, ...parts.map((p) => p.healthy?.() ?? {})) as Record<string, boolean>;
      const degraded = Object.assign({}, ...parts.map((p) => p.degraded?.() ?? {})) as Record<string, unknown>;
      const warnings = recent?.list() ?? [];
      return {
        ok: Object.values(checks).every(Boolean),
        detail: { checks, ...(Object.keys(degraded).length > 0 && { degraded }), ...(warnings.length > 0 && { recentWarnings: warnings }) },
      };
    },
    config.metrics.host,
    config.metrics.port,
    async () => void (await Promise.all(parts.map((p) => p.refresh?.()))),
    cleanerFor(config),
  ).catch((err: NodeJS.ErrnoException) => {
    // Another process (often a second agent) holds the port: a configuration problem.
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
      const why =
        err.code === 'EADDRINUSE' ? 'is taken by another process' : err.code === 'EACCES' ? 'may not be bound by this user' : 'is not an address of this host';
      throw new ConfigError([
        `metrics.port (TTA_METRICS_PORT): ${config.metrics.host}:${config.metrics.port} ${why}; choose another port, or 0 for a free one`,
      ]);
    }
    throw err;
  });
  const address = server.address() as { port: number };
  logger.info({ host: config.metrics.host, port: address.port }, 'metrics and health listening');
  return { stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function quit(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
