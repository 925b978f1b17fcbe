import { Command, type Redis } from 'ioredis';

// carbon.log bytes travel beside the job, not in its JSON data: JSON-encoding a
// megabyte of log text cost the shipper more CPU than everything else it does. They are
// the one element of a list under the job's `:logs` key (contract v4): BullMQ deletes
// that key with the job wherever it deletes one (removeOnComplete, remove, clean,
// obliterate: its removeJobKeys), so nothing can outlive the job, and, unlike a field
// of the job hash, BullMQ does not send it back each time a worker takes the job: in
// the hash a megabyte crossed Redis twice per job and was decoded once as a string
// nobody read. Jobs queued by a shipper before v4 carry them in the hash field
// PAYLOAD_FIELD; workers read either. The job is added first and the bytes attached
// right after; a worker that finds a job without them waits, for a while
// (giveUpIfBare below; worker/bytes.ts).

/** The bytes of a job queued before contract v4: a field of the job hash. */
export const PAYLOAD_FIELD = 'tta_payload';
/** Set by a worker that gave a job up for want of its bytes; no bytes count after it. */
export const GIVEN_UP_FIELD = 'tta_given_up';
/** When a worker first found the job without its bytes (its clock, ms). */
const AWAITED_SINCE_FIELD = 'tta_bytes_awaited_since';

/** The job hash key: BullMQ's `<prefix>:<queue>:<jobId>`. */
export function jobKey(queueQualifiedName: string, jobId: string): string {
  return `${queueQualifiedName}:${jobId}`;
}

/** Where a job's bytes are (v4): BullMQ's job-log list, which goes with the job. */
export function bytesKey(job: string): string {
  return `${job}:logs`;
}

/**
 * 'attached' or 'already': the job holds these bytes; 'consumed': it took them and is
 * done. 'job-gone' and 'given-up': it will never index them (queue them again).
 */
export type AttachResult = 'attached' | 'already' | 'consumed' | 'job-gone' | 'given-up';

/**
 * How long a given-up job's mark outlives the job: far past a shipper's attach in flight
 * (two round trips). A later job of the same id that a worker finishes within those
 * round trips reads as given up while the mark lasts, and is queued once more: a
 * duplicate, which its documents' ids absorb.
 */
const GIVEN_UP_MARK_MS = 60_000;

/** Outlives the job hash, which BullMQ deletes when the given-up job completes. */
function givenUpMark(key: string): string {
  return `${key}:tta_given_up`;
}

/**
 * Attaches the bytes to an existing job, never replacing bytes already there. A job
 * already completed and removed must not get them: they would outlive it, and BullMQ
 * would take nothing for their owner; such a stray key is removed at once. Nor may a
 * job a worker gave up (giveUpIfBare): it will be completed without them. A worker can
 * take the bytes and finish the job before the check that follows them: the job is gone
 * then, and so are the bytes, which tells it from a job that was gone before. Only this
 * shipper adds jobs with this id, one attach at a time, so nothing can recreate the job
 * in between, and a second push (a restart attaching again) holds the same bytes as the
 * first. (Neither Lua nor MULTI: through Lua a megabyte cost Redis 2.5 ms more per job,
 * and ioredis copies a transaction's arguments once more.)
 */
export async function attachPayload(client: Redis, key: string, parts: Buffer[]): Promise<AttachResult> {
  const list = bytesKey(key);
  const pushed = (await client.sendCommand(new UncopiedCommand('rpush', [list, joinParts(parts)]))) as number;
  if (pushed > 1) await client.ltrim(list, 0, 0);
  const [data, givenUp] = await client.hmget(key, 'data', GIVEN_UP_FIELD);
  if (data !== null) {
    if (givenUp === null) return pushed === 1 ? 'attached' : 'already';
    await client.del(list);
    return 'given-up';
  }
  const stray = (await client.del(list)) === 1;
  if ((await client.exists(givenUpMark(key))) === 1) return 'given-up';
  return stray ? 'job-gone' : 'consumed';
}

export type BareVerdict = 'attached' | 'wait' | 'given-up' | 'job-gone';

// One step, so that bytes attached at the same moment either count (the job is not
// given up) or are refused (attachPayload sees the mark): never both, never neither.
const GIVE_UP_IF_BARE = `
if redis.call('exists', KEYS[1]) == 0 then return 'job-gone' end
if redis.call('exists', KEYS[3]) == 1 or redis.call('hexists', KEYS[1], ARGV[1]) == 1 then return 'attached' end
if redis.call('hexists', KEYS[1], ARGV[2]) == 1 then return 'given-up' end
local since = tonumber(redis.call('hget', KEYS[1], ARGV[3]))
if not since then
  redis.call('hset', KEYS[1], ARGV[3], ARGV[4])
  return 'wait'
end
if tonumber(ARGV[4]) - since >= tonumber(ARGV[5]) then
  redis.call('hset', KEYS[1], ARGV[2], ARGV[4])
  redis.call('set', KEYS[2], ARGV[4], 'PX', ARGV[6])
  return 'given-up'
end
return 'wait'`;

/**
 * For a job found without its bytes: 'wait' until they have been awaited `waitMs`
 * (from the first time a worker asked), then mark it given up. Its shipper died
 * between adding it and attaching them, and read those bytes again into a job cut
 * elsewhere (resuming from a registry saved a moment before), or under another
 * identity (the file compressed or truncated meanwhile), or will add this one again
 * once it is gone: nothing is lost by giving it up, and nothing else would end its wait.
 */
export async function giveUpIfBare(client: Redis, key: string, nowMs: number, waitMs: number): Promise<BareVerdict> {
  const keys = [key, givenUpMark(key), bytesKey(key)];
  return (await client.eval(GIVE_UP_IF_BARE, 3, ...keys, PAYLOAD_FIELD, GIVEN_UP_FIELD, AWAITED_SINCE_FIELD, nowMs, waitMs, GIVEN_UP_MARK_MS)) as BareVerdict;
}

/**
 * A command whose Buffer arguments go to the socket as they are. ioredis copies a
 * command with a Buffer argument into one new buffer (MixedBuffers.toBuffer): for the
 * shipper that was a megabyte copied and allocated per job, 0.2 CPU-s per 512 MiB plus
 * the garbage collection those allocations set off. ioredis hands toWritable the
 * socket it is about to write the result to (its Script command uses this too), so the
 * head and the bytes are written first, in order, and ioredis writes the rest. Only
 * for commands sent on their own: a pipeline writes its commands later, all at once.
 */
export class UncopiedCommand extends Command {
  override toWritable(socket: object): string {
    const out = socket as { write(chunk: string | Buffer): boolean };
    let text = `*${this.args.length + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of this.args) {
      if (Buffer.isBuffer(arg) && arg.length > 0) {
        out.write(`${text}$${arg.length}\r\n`);
        out.write(arg);
        text = '\r\n';
      } else {
        const value = Buffer.isBuffer(arg) ? '' : String(arg);
        text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
      }
    }
    return text;
  }
}

export async function hasPayload(client: Redis, key: string): Promise<boolean> {
  return (await client.exists(bytesKey(key))) === 1 || (await client.hexists(key, PAYLOAD_FIELD)) === 1;
}

/** The bytes, wherever the job's shipper put them; null when there are none. */
export async function readPayload(client: Redis, key: string): Promise<Buffer | null> {
  return (await readBytes(client, key)).bytes;
}

/**
 * The bytes, or whether a worker gave the job up, in one round trip: both commands are
 * written before either answer is read.
 */
export async function readBytes(client: Redis, key: string): Promise<{ bytes: Buffer | null; givenUp: boolean }> {
  const [listed, [inHash, givenUp]] = await Promise.all([client.lindexBuffer(bytesKey(key), 0), client.hmgetBuffer(key, PAYLOAD_FIELD, GIVEN_UP_FIELD)]);
  const bytes = listed ?? inHash ?? null;
  return { bytes: givenUp ? null : bytes, givenUp: givenUp !== null };
}

/** Removes the bytes, wherever they are, and leaves the job (a retired job keeps its stub). */
export async function dropBytes(client: Redis, key: string): Promise<void> {
  await Promise.all([client.del(bytesKey(key)), client.hdel(key, PAYLOAD_FIELD)]);
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
