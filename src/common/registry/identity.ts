import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

// A file is known by device + inode + a fingerprint of its first line (at most
// FINGERPRINT_MAX bytes). Inode alone is fooled by reuse after delete+create; a
// fixed-size fingerprint (Filebeat's 1 KiB) cannot identify a small file at all. The
// first line of an append-only file never changes once its newline is written, so the
// fingerprint is stable from the moment there is anything to ship.
export const FINGERPRINT_MAX = 1024;

export interface FileIdentity {
  dev: number;
  ino: number;
  /** Bytes covered by the fingerprint. */
  fpLen: number;
  /** sha256 of those bytes, hex. */
  fpHash: string;
}

/** Fingerprint of the first line, or null while the file has no complete first line. */
export function fingerprintOf(head: Buffer, final = false): { fpLen: number; fpHash: string } | null {
  const nl = head.indexOf(10);
  let len: number;
  if (nl !== -1 && nl < FINGERPRINT_MAX) len = nl + 1;
  else if (head.length >= FINGERPRINT_MAX) len = FINGERPRINT_MAX;
  // A file that is only a partial first line gets a fingerprint only when it must be
  // shipped anyway (rotated away, or the partial-line timeout ran out).
  else if (final && head.length > 0) len = head.length;
  else return null;
  return { fpLen: len, fpHash: createHash('sha256').update(head.subarray(0, len)).digest('hex') };
}

export async function readHead(handle: FileHandle, length = FINGERPRINT_MAX): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, 0);
  return buf.subarray(0, bytesRead);
}

export async function identify(handle: FileHandle, final = false): Promise<FileIdentity | null> {
  const st = await handle.stat();
  const fp = fingerprintOf(await readHead(handle), final);
  return fp && { dev: st.dev, ino: st.ino, ...fp };
}

/** Stable key for registry entries, job ids and document ids. */
export function identityKey(id: FileIdentity): string {
  return `${id.dev.toString(36)}-${id.ino.toString(36)}-${id.fpHash.slice(0, 16)}`;
}

/**
 * Device, inode and first line are not unique over time: a deleted file's inode is soon
 * reused, and a new carbon.log can begin with the same line (logging.BASIC_FORMAT lines
 * carry no time). A file that turns up with the identity of one read before, but is not
 * that file, gets a generation key of its own, so its job and document ids cannot
 * collide with the old file's (a collision would make its events "duplicates").
 */
export function generationKey(base: string, at: number): string {
  return `${base}~${at.toString(36)}`;
}

/** The identityKey a registry key was made from. */
export function baseKeyOf(key: string): string {
  const i = key.indexOf('~');
  return i === -1 ? key : key.slice(0, i);
}

/** 0 for a base key; later generations compare greater. */
export function generationOf(key: string): number {
  const i = key.indexOf('~');
  return i === -1 ? 0 : parseInt(key.slice(i + 1), 36);
}

/** The newest generation among registry entries of one file identity. */
export function newestGeneration<T>(entries: Iterable<[string, T]>): [string, T] | undefined {
  let best: [string, T] | undefined;
  for (const pair of entries) if (!best || generationOf(pair[0]) > generationOf(best[0])) best = pair;
  return best;
}

/** Does the file behind `handle` still hold the content `id` was taken from? */
export async function stillSameFile(handle: FileHandle, id: FileIdentity): Promise<boolean> {
  const st = await handle.stat();
  if (st.dev !== id.dev || st.ino !== id.ino || st.size < id.fpLen) return false;
  const head = await readHead(handle, id.fpLen);
  return createHash('sha256').update(head).digest('hex') === id.fpHash;
}
