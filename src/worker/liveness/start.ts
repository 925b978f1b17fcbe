import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../common/config/index.js';
import type { Logger } from '../../common/logging/logger.js';
import type { Metrics } from '../../common/metrics/metrics.js';
import { redisTarget } from '../../common/redis/connection.js';
import { Heartbeat } from './heartbeat.js';
import { livenessKeys } from './keys.js';
import { Reaper } from './reaper.js';

export interface Liveness {
  /** Before the worker closes: no more reaping rounds. */
  stopReaping(): Promise<void>;
  /** After it closed: the heartbeat ended and its key deleted, the incarnation unregistered. */
  stop(): Promise<void>;
}

/**
 * Starts a worker incarnation's heartbeat and registers it before it takes a job, then
 * reaps at once (a restart finds its predecessor's batches in its first round) and on
 * every period after.
 */
export async function startLiveness(
  me: string,
  config: Config,
  deps: { connection: Redis; logger: Logger; metrics?: Metrics; now: () => Date },
): Promise<Liveness> {
  const { connection, logger, metrics, now } = deps;
  const queue = new Queue(config.redis.queue, { connection });
  queue.on('error', () => undefined);
  const keys = livenessKeys(queue.qualifiedName);
  const { heartbeatMs, livenessTtlMs, reapIntervalMs } = config.worker;
  let warned = 0;
  const heartbeat = await Heartbeat.start({
    target: redisTarget(config.redis),
    key: keys.alive(me),
    value: me,
    everyMs: heartbeatMs,
    ttlMs: livenessTtlMs,
    now: () => now().getTime(),
    onError: (message) => {
      const t = now().getTime();
      if (t - warned < 60_000) return;
      warned = t;
      logger.warn({ err: message }, "worker heartbeat not written; other workers may take this worker's batches (indexed once all the same)");
    },
  });
  // Registered only with a heartbeat in Redis: a registered incarnation without one is
  // reaped, so a worker whose thread could not start would lose its batches every round.
  // Unregistered, its batches are left to BullMQ's stalled check.
  if (heartbeat.sinceLastBeat() === Number.POSITIVE_INFINITY)
    logger.warn(
      { worker: me },
      "no heartbeat written yet; this worker is not registered for fast takeover, and a crash of it is recovered by BullMQ's stalled check alone",
    );
  else await connection.hset(keys.registry, me, JSON.stringify({ host: config.hostName, pid: process.pid, started: now().toISOString() }));
  const reaper = new Reaper({
    connection,
    queue,
    keys,
    me,
    intervalMs: reapIntervalMs,
    logger,
    onReclaimed: (moved, from) => {
      metrics?.batchesReclaimed.inc(moved);
      logger.info({ moved, from }, 'batches of workers that are gone are back in the queue');
    },
  });
  await reaper.round().catch((err: Error) => logger.warn({ err: err.message }, 'could not look for the batches of workers that are gone'));
  reaper.start();
  return {
    stopReaping: () => reaper.stop(),
    async stop() {
      await heartbeat.stop();
      await connection.hdel(keys.registry, me).catch(() => undefined);
      await queue.close();
    },
  };
}
