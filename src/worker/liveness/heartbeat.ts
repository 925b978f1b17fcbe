import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { RedisTarget } from '../../common/redis/connection.js';

// A worker incarnation proves it is alive by a key with a short TTL that a thread of
// its own refreshes (issue #34). Not the main thread: it builds and parses bulk
// requests, and a 50 MB answer or a long garbage collection blocks it for seconds; a
// thread has its own event loop and heap, so a busy worker never looks dead. A process
// killed with -9 loses its threads at once, zombie or not, and the key expires.
//
// The thread's code is a string run with `eval`: it must load the same way from the
// compiled modules, the esbuild bundle and the TypeScript sources under test, and a
// file beside this one exists in only one of them. It loads ioredis by the path this
// module resolves.

const THREAD = `
const { parentPort, workerData: d } = require('node:worker_threads');
const { Redis } = require(d.ioredis);
const t = d.target;
const client = new Redis(t.url, {
  ...(t.sentinels ? { sentinels: t.sentinels, name: t.name, sentinelPassword: t.sentinelPassword } : {}),
  connectionName: d.value,
  maxRetriesPerRequest: 1,
  retryStrategy: (n) => Math.min(n * 200, 2000),
});
let reported = 0;
client.on('error', (err) => {
  if (Date.now() - reported < 10000) return;
  reported = Date.now();
  parentPort.postMessage({ kind: 'error', message: String(err && err.message) });
});
const beat = () => client.set(d.key, d.value, 'PX', d.ttlMs).then(
  () => parentPort.postMessage({ kind: 'beat' }),
  (err) => parentPort.postMessage({ kind: 'error', message: String(err && err.message) }),
);
const timer = setInterval(beat, d.everyMs);
beat();
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  client.del(d.key).catch(() => undefined).finally(() =>
    client.quit().catch(() => undefined).finally(() => parentPort.postMessage({ kind: 'stopped' })));
});
`;

export interface HeartbeatOptions {
  target: RedisTarget;
  key: string;
  /** The incarnation's name: the key's value and the thread's Redis connection name. */
  value: string;
  everyMs: number;
  ttlMs: number;
  /** A beat that failed (Redis down, OOM): the worker logs it once in a while. */
  onError: (message: string) => void;
  now?: () => number;
}

export class Heartbeat {
  private lastBeat = 0;
  private constructor(
    private readonly thread: Worker,
    private readonly now: () => number,
  ) {}

  /** Starts the thread; resolves after the first beat landed, or after `waitMs` without one (logged by the caller). */
  static async start(o: HeartbeatOptions, waitMs = 5_000): Promise<Heartbeat> {
    const ioredis = createRequire(import.meta.url).resolve('ioredis');
    const thread = new Worker(THREAD, {
      eval: true,
      // Not the process's: `--input-type=module` (node -e) would make the code an ES
      // module, where require is not defined.
      execArgv: [],
      workerData: { ioredis, target: o.target, key: o.key, value: o.value, everyMs: o.everyMs, ttlMs: o.ttlMs },
      // Small: the thread holds one connection and a timer.
      resourceLimits: { maxOldGenerationSizeMb: 32 },
    });
    const hb = new Heartbeat(thread, o.now ?? Date.now);
    let first: () => void = () => undefined;
    const landed = new Promise<void>((resolve) => (first = resolve));
    thread.on('message', (m: { kind: string; message?: string }) => {
      if (m.kind === 'beat') {
        hb.lastBeat = hb.now();
        first();
      } else if (m.kind === 'error') o.onError(m.message ?? 'unknown error');
    });
    thread.on('error', (err) => o.onError(`heartbeat thread failed: ${err.message}`));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([landed, timeout]);
    return hb;
  }

  /** Milliseconds since the last beat landed in Redis (Infinity before the first). */
  sinceLastBeat(): number {
    return this.lastBeat === 0 ? Number.POSITIVE_INFINITY : this.now() - this.lastBeat;
  }

  /** Deletes the key (a clean stop is no death to reap) and ends the thread. */
  async stop(waitMs = 2_000): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.thread.on('message', (m: { kind: string }) => m.kind === 'stopped' && resolve());
      this.thread.once('exit', () => resolve());
    });
    this.thread.postMessage('stop');
    await Promise.race([stopped, new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref())]);
    await this.thread.terminate();
  }
}
