import { lstat, stat as statFollow, type FileHandle } from 'node:fs/promises';
import type { BatchJobData } from '../common/queue/contract.js';
import { readHead, type FileIdentity } from '../common/registry/identity.js';
import type { OpenFile } from './tailer-types.js';

// Reads a tailer makes besides following: a queued batch's bytes again, a CSV file's
// header, and the checks that a file was not rewritten under its offset or renamed away.

/** The bytes of a queued batch's chunks, read again from the file. */
export async function readChunks(handle: FileHandle, queued: BatchJobData): Promise<Buffer> {
  if (queued.kind !== 'lines') return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const c of queued.records) {
    if (c.truncated) continue;
    const buf = Buffer.alloc(c.end - c.offset);
    const { bytesRead } = await handle.read(buf, 0, buf.length, c.offset);
    if (bytesRead !== buf.length) throw new Error(`file shorter than a queued batch (${c.offset}-${c.end})`);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

export async function firstLine(handle: FileHandle, max: number): Promise<string> {
  const head = await readHead(handle, max);
  const nl = head.indexOf(10);
  return head
    .subarray(0, nl === -1 ? head.length : nl)
    .toString('utf8')
    .replace(/\r$/, '');
}

/** Are the bytes of the last line read still where they were (no rewrite in place)? */
export async function anchorHolds(file: OpenFile): Promise<boolean> {
  const anchor = file.builder.anchor?.();
  if (!anchor) return true;
  const at = anchor.end - anchor.bytes.length;
  if (at < 0) return true;
  const now = Buffer.alloc(anchor.bytes.length);
  const { bytesRead } = await file.handle.read(now, 0, now.length, at);
  return bytesRead === now.length && now.equals(anchor.bytes);
}

/** Does `path` name another file than `id` now (or none)? */
export async function rotatedAway(path: string, id: FileIdentity, followSymlinks: boolean): Promise<boolean> {
  try {
    const st = await (followSymlinks ? statFollow(path) : lstat(path));
    return st.ino !== id.ino || st.dev !== id.dev;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}
