import type { Redis } from 'ioredis';

// carbon.log bytes travel beside the job, as a field of BullMQ's own job hash, not in
// its JSON data: JSON-encoding a megabyte of log text cost the shipper more CPU than
// everything else it does. In the job hash the bytes are deleted with the job
// (removeOnComplete), so nothing can outlive it. The job is added first and the bytes
// attached right after; a worker that finds a job without them waits (see worker.ts).

export const PAYLOAD_FIELD = 'tta_payload';

/** The job hash key: BullMQ's `<prefix>:<queue>:<jobId>`. */
export function payloadKey(queueQualifiedName: string, jobId: string): string {
  return `${queueQualifiedName}:${jobId}`;
}

export type AttachResult = 'attached' | 'already' | 'job-gone';

/**
 * Attaches the bytes to an existing job, never replacing bytes already there. A job
 * already completed and removed must not get them: the field would recreate its key,
 * and BullMQ would then take a later job with that id for a duplicate; such a stray
 * key is removed at once. Only this shipper adds jobs with this id, so nothing can
 * recreate the job in between. (Neither Lua nor MULTI: through Lua a megabyte cost
 * Redis 2.5 ms more per job, and ioredis copies a transaction's arguments once more.)
 */
export async function attachPayload(client: Redis, key: string, parts: Buffer[]): Promise<AttachResult> {
  const set = await client.hsetnx(key, PAYLOAD_FIELD, joinParts(parts));
  if ((await client.hexists(key, 'data')) === 1) return set === 1 ? 'attached' : 'already';
  if (set === 1) await client.hdel(key, PAYLOAD_FIELD);
  return 'job-gone';
}

export async function hasPayload(client: Redis, key: string): Promise<boolean> {
  return (await client.hexists(key, PAYLOAD_FIELD)) === 1;
}

export function readPayload(client: Redis, key: string): Promise<Buffer | null> {
  return client.hgetBuffer(key, PAYLOAD_FIELD);
}

/**
 * One buffer of the parts: a view when they lie end to end in one read buffer (the
 * usual case: a batch is the chunks of one read), a copy otherwise.
 */
export function joinParts(parts: Buffer[]): Buffer {
  if (parts.length === 0) return Buffer.alloc(0);
  const first = parts[0]!;
  let end = first.byteOffset + first.length;
  for (const p of parts.slice(1)) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) return Buffer.concat(parts);
    end += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}
