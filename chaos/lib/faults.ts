import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { fill } from '../../test/helpers/disk.js';
import type { FaultProxy } from '../../test/helpers/es-fault-proxy.js';
import { elasticsearchDown, elasticsearchUp } from '../../src/services/elasticsearch-server.js';
import { redisDown, redisPid, redisUp } from '../../src/services/redis-server.js';
import type { ChaosProcess, ChaosServices } from './cluster.js';
import { rng } from './plan.js';

// The faults, on a timeline drawn from the seed: kill -9 and restart of the shipper and
// of workers at random moments; one Redis restart (a clean shutdown, so AOF holds every
// acknowledged write); Elasticsearch stopped; a worker frozen (SIGSTOP) past its lock so
// its batch stalls and moves to another worker, then resumed. They run one after
// another, so each one's effect is its own. Issue #34 adds a worker killed while its
// parent does not reap it, and full resources: Elasticsearch's flood-stage block, 429s
// to most bulk requests, Redis at maxmemory, the shipper's data dir disk full.

export type FaultKind =
  | 'kill -9 shipper'
  | 'kill -9 shipper while Redis is frozen'
  | 'kill -9 worker'
  | 'kill -9 worker, restarted on another host'
  | 'kill -9 worker, not restarted for 15 s'
  | 'redis restart'
  | 'elasticsearch stopped'
  | 'worker frozen (SIGSTOP)'
  | 'kill -9 worker left a zombie'
  | 'elasticsearch blocks writes (flood stage)'
  | 'elasticsearch answers 429 to 90 % of bulk requests'
  | 'redis full (maxmemory, noeviction)'
  | 'data dir disk full';

export interface FaultPlan {
  at: number;
  kind: FaultKind;
  /** Which worker, for worker faults. */
  target?: number;
  /** How long a stop or freeze lasts. */
  ms?: number;
}

export interface FaultOptions {
  durationMs: number;
  esOutageMs: number;
  freezeMs: number;
  /** How long each full resource lasts. */
  fullMs: number;
  /** 429s last this long (the issue's minute in the full run). */
  overloadMs: number;
  /** The shipper's data dir is on a disk of its own that can be filled. */
  dataDisk: boolean;
  shipperKills: number;
  workerKills: number;
  workers: number;
}

export function planFaults(seed: number, o: FaultOptions): FaultPlan[] {
  const rand = rng(seed ^ 0x5eed);
  const at = (from: number, to: number) => Math.floor(o.durationMs * (from + rand() * (to - from)));
  const plan: FaultPlan[] = [
    { at: at(0.25, 0.3), kind: 'redis restart', ms: 3000 },
    { at: at(0.35, 0.4), kind: 'elasticsearch stopped', ms: o.esOutageMs },
    { at: at(0.05, 0.1), kind: 'worker frozen (SIGSTOP)', target: Math.floor(rand() * o.workers), ms: o.freezeMs },
    // Redis stalls (as under a slow fork or disk) with a batch on its way, and the
    // shipper dies then: only a registry that waits for Redis's answer loses nothing.
    { at: at(0.15, 0.2), kind: 'kill -9 shipper while Redis is frozen', ms: 1500 },
  ];
  for (let i = 0; i < o.shipperKills; i++) plan.push({ at: at(0.05, 0.95), kind: 'kill -9 shipper' });
  for (let i = 0; i < o.workerKills; i++) plan.push({ at: at(0.05, 0.95), kind: 'kill -9 worker', target: Math.floor(rand() * o.workers) });
  // Issue #34: the killed worker's batches are taken over by the others, from any host,
  // whether or not it comes back, and where it comes back makes no difference.
  plan.push({ at: at(0.45, 0.55), kind: 'kill -9 worker, restarted on another host', target: Math.floor(rand() * o.workers) });
  plan.push({ at: at(0.6, 0.7), kind: 'kill -9 worker, not restarted for 15 s', target: Math.floor(rand() * o.workers), ms: 15_000 });
  plan.push({ at: at(0.5, 0.6), kind: 'kill -9 worker left a zombie', target: Math.floor(rand() * o.workers), ms: 15_000 });
  plan.push({ at: at(0.1, 0.15), kind: 'elasticsearch blocks writes (flood stage)', ms: o.fullMs });
  plan.push({ at: at(0.7, 0.75), kind: 'elasticsearch answers 429 to 90 % of bulk requests', ms: o.overloadMs });
  plan.push({ at: at(0.8, 0.85), kind: 'redis full (maxmemory, noeviction)', ms: o.fullMs });
  if (o.dataDisk) plan.push({ at: at(0.3, 0.35), kind: 'data dir disk full', ms: o.fullMs });
  return plan.sort((a, b) => a.at - b.at);
}

export interface Targets {
  /** Resolves once the worker process holds an active job. */
  holdsJob: (w: ChaosProcess) => Promise<void>;
  services: ChaosServices;
  shipper: ChaosProcess;
  workers: ChaosProcess[];
  say: (line: string) => void;
  /** The run's own Elasticsearch, and the indices its writes go to. */
  es: Client;
  indices: string[];
  /** Between the workers and Elasticsearch. */
  esProxy: FaultProxy;
  /** Root of the disk the shipper's data dir is on, when it has one of its own. */
  dataDisk: string | null;
}

/**
 * Runs the plan against the clock from `start`; returns how many of each kind ran, and
 * what went wrong recovering from one (a process that would not start again is a
 * finding, not a reason to stop the run).
 */
export async function inject(plan: FaultPlan[], t: Targets, start: number): Promise<{ done: Map<FaultKind, number>; errors: string[] }> {
  const done = new Map<FaultKind, number>();
  const errors: string[] = [];
  for (const f of plan) {
    const wait = start + f.at - Date.now();
    if (wait > 0) await sleep(wait);
    t.say(
      `fault at ${((Date.now() - start) / 1000).toFixed(1)} s: ${f.kind}${f.target !== undefined ? ` #${f.target}` : ''}${f.ms ? ` for ${f.ms / 1000} s` : ''}`,
    );
    await run(f, t).catch((err: Error) => {
      errors.push(`${f.kind}: ${err.message.split('\n')[0]}`);
      t.say(`recovering from ${f.kind} failed: ${err.message.slice(0, 2000)}`);
    });
    done.set(f.kind, (done.get(f.kind) ?? 0) + 1);
  }
  return { done, errors };
}

async function run(f: FaultPlan, t: Targets): Promise<void> {
  switch (f.kind) {
    case 'kill -9 shipper':
      return t.shipper.crashAndRestart();
    case 'kill -9 worker':
      return t.workers[f.target!]!.crashAndRestart();
    case 'kill -9 worker, restarted on another host': {
      const w = t.workers[f.target!]!;
      await t.holdsJob(w);
      await w.kill9();
      return w.startElsewhere(`elsewhere-${f.at}`);
    }
    case 'kill -9 worker, not restarted for 15 s': {
      const w = t.workers[f.target!]!;
      await t.holdsJob(w);
      await w.kill9();
      await sleep(f.ms!);
      return w.start();
    }
    case 'kill -9 shipper while Redis is frozen': {
      const pid = await redisPid(t.services.redis.dir);
      if (!pid) throw new Error('no Redis pid to freeze');
      process.kill(pid, 'SIGSTOP');
      try {
        await sleep(f.ms!);
        await t.shipper.kill9();
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      return t.shipper.start();
    }
    case 'redis restart':
      await redisDown(t.services.redis.dir);
      await sleep(f.ms!);
      await redisUp(t.services.redis);
      return;
    case 'elasticsearch stopped':
      await elasticsearchDown(t.services.es.dir);
      await sleep(f.ms!);
      await elasticsearchUp(t.services.es);
      return;
    case 'kill -9 worker left a zombie': {
      const w = t.workers[f.target!]!;
      await w.kill9();
      await w.start({ zombieParent: true });
      await t.holdsJob(w);
      await w.kill9LeavingZombie();
      // Its pid stays taken meanwhile: liveness must not read it as alive.
      await sleep(f.ms!);
      await w.reapZombie();
      return w.start();
    }
    case 'elasticsearch blocks writes (flood stage)':
      return blockWrites(t, f.ms!);
    case 'elasticsearch answers 429 to 90 % of bulk requests':
      t.esProxy.rejectShare = 0.9;
      await sleep(f.ms!);
      t.esProxy.rejectShare = 0;
      return;
    case 'redis full (maxmemory, noeviction)':
      return redisFull(t, f.ms!);
    case 'data dir disk full': {
      const filler = fill(t.dataDisk!);
      await sleep(f.ms!);
      rmSync(filler);
      return;
    }
    case 'worker frozen (SIGSTOP)': {
      const w = t.workers[f.target!]!;
      // Frozen while it holds a batch, or the fault would test nothing.
      await t.holdsJob(w);
      w.signal('SIGSTOP');
      await sleep(f.ms!);
      w.signal('SIGCONT');
      return;
    }
  }
}

/**
 * The block a full disk makes Elasticsearch put on (read_only_allow_delete) on every
 * index the run writes to. Elasticsearch lifts it by itself below the high watermark,
 * so it is put back each second for as long as the disk would stay full.
 */
async function blockWrites(t: Targets, ms: number): Promise<void> {
  const index = t.indices.join(',');
  const opts = { index, ignore_unavailable: true, allow_no_indices: true };
  const until = Date.now() + ms;
  try {
    while (Date.now() < until) {
      await t.es.indices.putSettings({ ...opts, settings: { 'index.blocks.read_only_allow_delete': true } });
      await sleep(1000);
    }
  } finally {
    await t.es.indices.putSettings({ ...opts, settings: { 'index.blocks.read_only_allow_delete': null } });
  }
}

/** Redis's maxmemory put at what it holds: every write that needs memory is refused (OOM). */
async function redisFull(t: Targets, ms: number): Promise<void> {
  const admin = new Redis(t.services.redis.url, { maxRetriesPerRequest: null });
  try {
    const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used));
    await sleep(ms);
  } finally {
    await admin.config('SET', 'maxmemory', '0');
    await admin.quit();
  }
}
