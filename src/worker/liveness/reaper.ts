import { randomBytes } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logging/logger.js';
import type { LivenessKeys } from './keys.js';
import { type ActiveJob, forgotten, orphanJobs } from './orphans.js';

// Every live worker, on any host, looks on a short period for the active jobs of
// incarnations whose heartbeat is gone and hands them back to waiting (issue #34). Why a
// heartbeat and not what BullMQ, Sidekiq or Celery use alone (README, "When things fill
// up or die"): BullMQ's lock + stalled check takes two rounds of lockDuration; a pid says
// nothing across hosts, stays "alive" as a zombie and is reused; a connection drops on
// every reconnect of a live worker too. One reaper at a time (SET NX PX), and a job is
// moved with its lock's token, so a live worker's job is never moved and a batch taken
// over while its old worker still finishes it is indexed under the same ids.

export interface ReaperDeps {
  connection: Redis;
  queue: Queue;
  keys: LivenessKeys;
  /** This incarnation: the reaper key's value. */
  me: string;
  intervalMs: number;
  logger: Logger;
  /** Batches handed back, per round that moved any. */
  onReclaimed?: (moved: number, from: string[]) => void;
}

// A reclaimed job's lock, where the dead worker's had expired: moveToWait needs one.
const RECLAIM_LOCK_MS = 30_000;

export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly deps: ReaperDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.round().catch((err: Error) => {
      this.deps.logger.warn({ err: err.message }, 'could not look for the batches of workers that are gone; BullMQ will hand them on later');
      return 0;
    });
    await this.running;
    this.running = undefined;
  }

  /** One round: the batches it handed back (0 when another worker is the reaper now). */
  async round(): Promise<number> {
    const { connection, keys, me, intervalMs } = this.deps;
    if ((await connection.set(keys.reaper, me, 'PX', intervalMs * 3, 'NX')) !== 'OK') return 0;
    try {
      const registered = new Set(await connection.hkeys(keys.registry));
      if (registered.size === 0) return 0;
      const active = await this.active();
      const names = [...registered];
      const exists = await connection.pipeline(names.map((n) => ['exists', keys.alive(n)])).exec();
      const alive = new Set(names.filter((_, i) => exists?.[i]?.[1] === 1));
      let moved = 0;
      const from = new Set<string>();
      for (const orphan of orphanJobs(active, registered, alive)) {
        if (await this.handBack(orphan)) {
          moved++;
          from.add(orphan.processedBy!);
        }
      }
      const gone = forgotten(registered, alive, moved > 0 ? await this.active() : active);
      if (gone.length > 0) await connection.hdel(keys.registry, ...gone);
      if (moved > 0) this.deps.onReclaimed?.(moved, [...from]);
      return moved;
    } finally {
      // Released only if still ours: a round longer than the key's TTL may have a successor.
      await connection.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, keys.reaper, me);
    }
  }

  /** The active jobs and who took each, without loading their data (a batch can be large). */
  private async active(): Promise<ActiveJob[]> {
    const { connection, queue } = this.deps;
    const ids = await connection.lrange(queue.toKey('active'), 0, -1);
    if (ids.length === 0) return [];
    const pb = await connection.pipeline(ids.map((id) => ['hget', queue.toKey(id), 'pb'])).exec();
    return ids.map((id, i) => ({ id, processedBy: (pb?.[i]?.[1] as string | null) ?? null }));
  }

  private async handBack(orphan: ActiveJob): Promise<boolean> {
    const { connection, queue } = this.deps;
    const lockKey = `${queue.toKey(orphan.id)}:lock`;
    // The dead worker's token, or ours where its lock already expired.
    const token = (await connection.get(lockKey)) ?? `reclaim-${randomBytes(6).toString('hex')}`;
    await connection.set(lockKey, token, 'PX', RECLAIM_LOCK_MS, 'NX');
    // Still the dead incarnation's? The stalled check may have handed it on meanwhile.
    if ((await connection.hget(queue.toKey(orphan.id), 'pb')) !== orphan.processedBy) return false;
    const job = await Job.fromId(queue, orphan.id);
    if (!job) return false;
    try {
      await job.moveToWait(token);
      return true;
    } catch {
      // Finished or taken meanwhile: nothing to hand back.
      return false;
    }
  }
}
