import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { giveUpIfBare, jobKey, readBytes } from '../common/queue/payload.js';

// A carbon.log job's bytes travel beside it (common/queue/payload.ts): the shipper adds
// the job, then attaches them. This is the worker's side of that: read them, wait a
// moment for bytes on their way, and give a job up whose bytes will never come.

// Up to 200 ms for bytes being attached right now; longer means the shipper died in between.
const TRIES = 10;
const TRY_MS = 20;

export interface BytesDeps {
  connection: Redis;
  now: () => Date;
  /** How long a job may wait for its bytes, from the first time a worker found it without. */
  waitMs: number;
  stopped: () => boolean;
}

/**
 * The bytes; 'wait' when they are not attached yet (the shipper, restarted, attaches
 * them: the job waits for that without spending an attempt); 'given-up' when they were
 * awaited `waitMs` and the job is to complete without them (see giveUpIfBare).
 *
 * The shipper attaches the bytes just after adding the job, and an idle worker takes
 * the job at once, so it is often a moment early. A short wait here, instead of the
 * job's 1 s backoff, kept p99 write-to-searchable from growing by a second.
 */
export async function bytesOf(job: Job, deps: BytesDeps): Promise<Buffer | 'wait' | 'given-up'> {
  const key = jobKey(job.queueQualifiedName, job.id!);
  for (let tries = 1; ; tries++) {
    const { bytes, givenUp } = await readBytes(deps.connection, key);
    if (bytes) return bytes;
    if (givenUp) return 'given-up';
    if (tries >= TRIES || deps.stopped()) break;
    await sleep(TRY_MS);
  }
  switch (await giveUpIfBare(deps.connection, key, deps.now().getTime(), deps.waitMs)) {
    case 'given-up':
      return 'given-up';
    case 'attached': {
      // Attached between the last read and the check.
      const { bytes } = await readBytes(deps.connection, key);
      return bytes ?? 'wait';
    }
    default:
      return 'wait';
  }
}
