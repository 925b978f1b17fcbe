import { createGunzip } from 'node:zlib';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readFrom, writeTo } from '../common/fs/fd-streams.js';
import { isRoot, openRegular } from '../common/fs/safe-open.js';
import { FINGERPRINT_MAX, fingerprintOf, identityKey, type FileIdentity } from '../common/registry/identity.js';
import type { Registry, RegistryEntry } from './registry.js';

// Living beside the guide's logrotate (compress, delaycompress): when the shipper was
// down across two of its rotations, logrotate gzips carbon.log.1 into carbon.log.2.gz
// whether or not it was shipped, and the rest of it was lost (issue #14; Filebeat and
// Fluent Bit read .gz only as new files, from the start). A compressed copy is matched
// to the registry by its decompressed first line, in the directory of the file it was
// rotated from, and read on from the registry's offset: its bytes are inflated into a
// file in the data directory that is unlinked as soon as it is open, so nothing is left
// behind, and read like any rotated copy, under the entry's own id (its documents keep
// the ids they would have had). A compressed copy never seen at all (made and
// compressed while the shipper was down) is read from 0 under an id of its own.

/** A rotated copy's name after the live name, compressed: ".2.gz", "-20261127.gz". */
export const COMPRESSED_SUFFIX = /^(?:\.\d+|-\d{8}(?:\d{2})?(?:-\d{6})?(?:-\d+)?)\.gz$/;

// An inflated copy larger than this is refused: the directory's owner could plant a
// gzip bomb with a matching first line and fill the data disk.
const MAX_INFLATED_BYTES = 8 * 1024 ** 3;

export type Verdict =
  | { action: 'settle'; reason: string }
  /** Judge it again later: a tailer reads a file that starts like it. */
  | { action: 'wait' }
  | { action: 'adopt'; handle: FileHandle; id: FileIdentity; key: string; offset: number };

/**
 * `reading(fp)`: a tailer reads a file that starts with this line now. It may be this
 * copy's original, held open, whose registry entry is written only with its first
 * batch: a second reader would ship its lines again under another id.
 */
export async function judgeCompressedCopy(
  path: string,
  livePath: string,
  registry: Registry,
  dataDir: string,
  reading: (fp: { fpHash: string; fpLen: number }) => boolean,
): Promise<Verdict> {
  const gz = await openRegular(path, { singleLink: isRoot() });
  try {
    const st = await gz.stat();
    const head = await inflatedHead(gz);
    const fp = fingerprintOf(head, true);
    if (!fp) return { action: 'settle', reason: 'empty' };
    if (reading(fp)) return { action: 'wait' };
    const size = await inflatedSizeHint(gz, st.size);
    const siblings = (e: RegistryEntry) => dirname(e.path) === dirname(livePath) && basename(e.path).startsWith(basename(livePath));
    const candidates = [...registry.all()].filter(([, e]) => e.fpHash === fp.fpHash && e.fpLen === fp.fpLen && siblings(e));
    let target: [string, FileIdentity, number];
    if (candidates.length > 0) {
      // Several files of one directory can share a first line (BASIC_FORMAT lines carry
      // no time): the smallest unfinished offset ships a byte twice rather than lose one.
      const unfinished = candidates.filter(([, e]) => e.offset < size).sort((a, b) => a[1].offset - b[1].offset);
      if (unfinished.length === 0) return { action: 'settle', reason: 'shipped' };
      const [key, e] = unfinished[0]!;
      target = [key, { dev: e.dev, ino: e.ino, fpLen: e.fpLen, fpHash: e.fpHash }, e.offset];
    } else {
      // Older than this shipper: whatever ran before shipped it.
      if (st.mtimeMs < registry.createdAt) return { action: 'settle', reason: 'older than the shipper' };
      const id = { dev: st.dev, ino: st.ino, ...fp };
      const known = registry.latest(identityKey(id));
      target = [known?.[0] ?? identityKey(id), id, known?.[1].offset ?? 0];
      if (target[2] >= size) return { action: 'settle', reason: 'shipped' };
    }
    const handle = await inflateHidden(gz, join(dataDir, 'inflate'));
    return { action: 'adopt', handle, id: target[1], key: target[0], offset: target[2] };
  } finally {
    await gz.close();
  }
}

async function inflatedHead(gz: FileHandle): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  const gunzip = createGunzip();
  const source = readFrom(gz);
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) {
      parts.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= FINGERPRINT_MAX) break;
    }
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(parts).subarray(0, FINGERPRINT_MAX);
}

/** gzip's trailer holds the inflated size modulo 2^32: exact below 4 GiB, a lower bound above. */
async function inflatedSizeHint(gz: FileHandle, compressed: number): Promise<number> {
  if (compressed < 18) return 0;
  const tail = Buffer.alloc(4);
  await gz.read(tail, 0, 4, compressed - 4);
  return tail.readUInt32LE(0);
}

async function inflateHidden(gz: FileHandle, dir: string): Promise<FileHandle> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
  const out = await open(file, 'wx+', 0o600);
  await unlink(file);
  try {
    let total = 0;
    const gunzip = createGunzip();
    gunzip.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_INFLATED_BYTES) gunzip.destroy(new Error(`inflates to more than ${MAX_INFLATED_BYTES} bytes; refused`));
    });
    await pipeline(readFrom(gz), gunzip, writeTo(out));
    return out;
  } catch (err) {
    await out.close();
    throw err;
  }
}
