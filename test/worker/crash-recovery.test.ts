import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { cleanup, countDocs, redisClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess } from '../helpers/shipper.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issues #14 and #34: after kill -9 of a worker holding batches, another worker indexes
// them within seconds, whether it is restarted on the same host, runs on another host
// already, or finds the killed process still a zombie. The killed worker is a real
// process that proves it is alive exactly as CarbonWorker does (its heartbeat thread
// and registry entry, from the built modules) and takes the jobs and never finishes
// them; or, for the no-false-takeover case, blocks its event loop and then finishes.

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) c.kill('SIGKILL');
});

/** A worker that registers and beats as CarbonWorker does; its processor holds each job, or blocks `blockMs` and finishes it. */
const holder = (queue: string, host: string, blockMs: number) => `
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Heartbeat } from './dist/worker/liveness/heartbeat.js';
import { incarnationName, livenessKeys } from './dist/worker/liveness/keys.js';
const connection = new Redis(${JSON.stringify(services.redisUrl)}, { maxRetriesPerRequest: null });
const me = incarnationName(${JSON.stringify(host)}, process.pid);
const keys = livenessKeys(new Queue(${JSON.stringify(queue)}, { connection }).qualifiedName);
await Heartbeat.start({ target: { url: ${JSON.stringify(services.redisUrl)} }, key: keys.alive(me), value: me, everyMs: 1000, ttlMs: 5000, onError: (m) => console.error('heartbeat:', m) });
await connection.hset(keys.registry, me, '{}');
const block = ${blockMs};
const w = new Worker(${JSON.stringify(queue)}, async () => {
  if (block === 0) return new Promise(() => {});
  const until = Date.now() + block;
  while (Date.now() < until) {}
  return { held: true };
}, { connection, name: me, concurrency: 4, lockDuration: 30000 });
w.on('active', () => console.log('holding'));
`;

/** The holder, or the holder under a parent that never reaps it (so that, killed, it stays a zombie). */
function spawnHolder(queue: string, host: string, opts: { blockMs?: number; zombieParent?: boolean } = {}): { child: ChildProcess; pid: Promise<number> } {
  const node = [process.execPath, '--input-type=module', '-e', holder(queue, host, opts.blockMs ?? 0)];
  if (!opts.zombieParent) {
    const child = spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(child);
    return { child, pid: Promise.resolve(child.pid!) };
  }
  // Python's Popen reaps only when asked (wait/poll): the killed holder stays <defunct>.
  const parent = spawn(
    'python3',
    ['-c', 'import subprocess, sys, time\np = subprocess.Popen(sys.argv[1:])\nprint(p.pid, flush=True)\ntime.sleep(600)', ...node],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  started.push(parent);
  const pid = new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  return { child: parent, pid };
}

async function state(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

async function holdThree(queue: Queue, tag: string, host: string, opts: { zombieParent?: boolean } = {}): Promise<number> {
  for (let i = 0; i < 3; i++) await queue.add(BATCH_JOB, logBatch(`${tag}${i}`, [`INFO:held:${tag} batch ${i}`]), { jobId: `${tag}${i}_0` });
  const { pid } = spawnHolder(queue.name, host, opts);
  await waitFor(async () => (await queue.getActiveCount()) === 3, 20_000, 'the doomed worker to hold all 3 batches');
  return pid;
}

// Restarted after the kill, or a live worker idle beside the holder before it.
const KILLED = [
  { name: 'restarted on the same host', tag: 'same', live: 'host-a', liveBefore: false, zombie: false },
  { name: 'with a worker already running on another host and no restart', tag: 'other', live: 'host-b', liveBefore: true, zombie: false },
  { name: 'left a zombie by a parent that does not reap it', tag: 'zombie', live: 'host-a', liveBefore: true, zombie: true },
];

describe('a worker killed with -9 while it holds batches', () => {
  for (const c of KILLED)
    it(`${c.name}: its batches are indexed within 10 s`, async () => {
      const n = uniqueNames(`recovery-${c.tag}`);
      const redis = redisClient();
      const queue = new Queue(n.queue, { connection: redis });
      const pid = await holdThree(queue, c.tag, 'host-a', { zombieParent: c.zombie });
      // Started before the kill it is idle: the batches are the holder's.
      let worker = c.liveBefore ? await startTestWorker(n, (x) => (x.hostName = c.live)) : undefined;
      try {
        expect(await queue.getActiveCount()).toBe(3);
        process.kill(pid, 'SIGKILL');
        const killed = Date.now();
        worker ??= await startTestWorker(n, (x) => (x.hostName = c.live));
        if (c.zombie) await waitFor(async () => (await state(pid)) === 'Z', 5_000, 'the killed holder to be a zombie');
        await waitFor(async () => (await countDocs(`${n.indexPrefix}-2*`)) === 3, 10_000, 'the 3 held batches indexed', 200);
        expect(Date.now() - killed).toBeLessThan(10_000);
        expect(worker.worker.totals.indexed).toBe(3);
        // Still a zombie: its pid alone would have said it was alive.
        if (c.zombie) expect(await state(pid)).toBe('Z');
      } finally {
        await worker?.stop();
        await queue.close();
        await redis.quit();
        await cleanup(n);
      }
    }, 60_000);
});

// A container restarted in place: PID 1 again, under the same host name. Its own PID
// namespace (unshare, which takes root) makes each incarnation pid 1 for real.
const IN_PLACE = ['unshare', '--pid', '--fork', '--kill-child'];

/** The namespace's pid 1 as the host sees it: unshare's only child. */
async function nsInit(unshare: number): Promise<number> {
  return Number((await readFile(`/proc/${unshare}/task/${unshare}/children`, 'utf8')).trim());
}

describe('a worker killed with -9 and restarted in place, as a container is', () => {
  it.skipIf(process.getuid?.() !== 0)(
    "the same pid (1) and host name: the dead incarnation's batches are indexed within 10 s",
    async () => {
      const n = uniqueNames('recovery-inplace');
      const redis = redisClient();
      const queue = new Queue(n.queue, { connection: redis });
      const dir = await tempDir('inplace');
      let worker: Awaited<ReturnType<typeof startCliProcess>> | undefined;
      try {
        for (let i = 0; i < 3; i++) await queue.add(BATCH_JOB, logBatch(`inplace${i}`, [`INFO:held:inplace batch ${i}`]), { jobId: `inplace${i}_0` });
        const ns = spawn(IN_PLACE[0]!, [...IN_PLACE.slice(1), process.execPath, '--input-type=module', '-e', holder(n.queue, 'host-a', 0)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        started.push(ns);
        await waitFor(async () => (await queue.getActiveCount()) === 3, 20_000, 'the doomed worker to hold all 3 batches');
        const held = await queue.getActive();
        expect(held.every((j) => j.processedBy?.startsWith('host-a:1:'))).toBe(true);
        process.kill(await nsInit(ns.pid!), 'SIGKILL');
        const killed = Date.now();
        worker = await startCliProcess('worker', n, dir, '', { TTA_HOST_NAME: 'host-a' }, undefined, IN_PLACE);
        await waitFor(async () => (await countDocs(`${n.indexPrefix}-2*`)) === 3, 10_000, 'the 3 held batches indexed', 200);
        expect(Date.now() - killed).toBeLessThan(10_000);
        // Both incarnations were pid 1 on host-a, and are two all the same.
        const doneBy = new Set((await queue.getCompleted()).map((j) => j.processedBy));
        expect(doneBy.size).toBe(1);
        const [restarted] = [...doneBy];
        expect(restarted).toMatch(/^host-a:1:/);
        expect(held.map((j) => j.processedBy)).not.toContain(restarted);
      } finally {
        // unshare --fork ignores SIGTERM: it goes to the namespace's pid 1 itself.
        if (worker?.child.exitCode === null) {
          const exited = new Promise((resolve) => worker!.child.once('exit', resolve));
          process.kill(await nsInit(worker.child.pid!), 'SIGTERM');
          await exited;
        }
        await queue.close();
        await redis.quit();
        await cleanup(n, [dir]);
      }
    },
    60_000,
  );
});

describe('a worker whose event loop is blocked', () => {
  it('keeps its batch for 7 s of blocking: no other worker takes it over', async () => {
    const n = uniqueNames('recovery-blocked');
    const redis = redisClient();
    const queue = new Queue(n.queue, { connection: redis });
    try {
      await queue.add(BATCH_JOB, logBatch('blocked', ['INFO:held:blocked batch']), { jobId: 'blocked_0' });
      spawnHolder(n.queue, 'host-a', { blockMs: 7_000 });
      await waitFor(async () => (await queue.getActiveCount()) === 1, 20_000, 'the holder to take the batch');
      // Idle beside it, reaping every second: only a takeover could give it the batch.
      const watcher = await startTestWorker(n, (c) => (c.hostName = 'host-b'));
      try {
        await waitFor(async () => (await queue.getCompletedCount()) === 1, 30_000, 'the blocked holder to finish its batch');
        const job = await queue.getJob('blocked_0');
        expect(job?.returnvalue).toEqual({ held: true });
        expect(job?.attemptsStarted).toBe(1);
        expect(watcher.worker.totals.indexed).toBe(0);
      } finally {
        await watcher.stop();
      }
    } finally {
      await queue.close();
      await redis.quit();
      await cleanup(n);
    }
  }, 60_000);
});
