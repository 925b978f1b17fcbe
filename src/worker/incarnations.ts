import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

// A worker killed with -9 leaves the batches it held locked for up to lockDurationMs,
// and BullMQ's stalled check needs two of its rounds to hand them on: up to a minute
// before a restarted worker indexes them (issue #14). Each worker incarnation leaves a
// file under <data dir>/workers/; a worker starting on the same data dir hands back
// the active jobs of incarnations whose process is gone (BullMQ records the worker's
// name as the job's processedBy). A live incarnation is never touched, so the lock
// stays as long as BullMQ sets it and a slow bulk request causes no false stall.

export interface Incarnation {
  name: string;
  host: string;
  pid: number;
  /** Only workers of the same queue hand back each other's jobs. */
  queue: string;
}

export function newIncarnation(host: string, pid: number, queue: string): Incarnation {
  return { name: `${host}:${pid}:${randomBytes(3).toString('hex')}`, host, pid, queue };
}

function dirOf(dataDir: string): string {
  return join(dataDir, 'workers');
}

function fileOf(dataDir: string, name: string): string {
  return join(dirOf(dataDir), `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

export async function register(dataDir: string, me: Incarnation): Promise<() => Promise<void>> {
  await mkdir(dirOf(dataDir), { recursive: true, mode: 0o700 });
  const file = fileOf(dataDir, me.name);
  await writeFile(file, JSON.stringify(me), { mode: 0o600 });
  return () => unlink(file).catch(() => undefined);
}

/** Incarnations of this queue recorded in this data dir, on this host, whose process no longer runs. */
export async function deadIncarnations(dataDir: string, me: Incarnation, alive: (pid: number) => boolean): Promise<Incarnation[]> {
  const out: Incarnation[] = [];
  for (const name of await readdir(dirOf(dataDir)).catch(() => [] as string[])) {
    const file = join(dirOf(dataDir), name);
    const found = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as Incarnation,
      () => null,
    );
    if (!found || typeof found.name !== 'string' || typeof found.pid !== 'number') continue;
    if (found.host === me.host && found.queue === me.queue && found.name !== me.name && !alive(found.pid)) out.push(found);
  }
  return out;
}

/** Back to waiting: every active job one of `dead` held. Returns how many. */
export async function reclaim(queue: Queue, connection: Redis, dataDir: string, dead: Incarnation[]): Promise<number> {
  if (dead.length === 0) return 0;
  const names = new Set(dead.map((d) => d.name));
  let moved = 0;
  for (const job of await queue.getActive()) {
    if (!job.processedBy || !names.has(job.processedBy)) continue;
    // The dead worker's token, or ours where its lock already expired.
    const lockKey = `${job.queueQualifiedName}:${job.id}:lock`;
    const token = (await connection.get(lockKey)) ?? `reclaim-${randomBytes(6).toString('hex')}`;
    await connection.set(lockKey, token, 'PX', 30_000, 'NX');
    try {
      await job.moveToWait(token);
      moved++;
    } catch {
      // Taken or finished meanwhile (the stalled check got there first): nothing to do.
    }
  }
  for (const d of dead) await unlink(fileOf(dataDir, d.name)).catch(() => undefined);
  return moved;
}
