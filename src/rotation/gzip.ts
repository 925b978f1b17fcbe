import { createReadStream, createWriteStream } from 'node:fs';
import { access, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fsyncPath } from '../common/fs/atomic-file.js';

// gzip that a crash cannot turn into data loss: write <file>.gz.tmp, fsync it, rename
// it to <file>.gz, fsync the directory, and only then remove the original. At any
// instant there is the original, or a complete .gz, or both; never only a partial one.
// `finishCompression` completes whatever a crashed run left.

export async function gzipFile(path: string, level = 6): Promise<string> {
  const gz = `${path}.gz`;
  const tmp = `${gz}.tmp`;
  await unlink(tmp).catch(ignoreMissing);
  await pipeline(createReadStream(path), createGzip({ level }), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
  await fsyncPath(tmp);
  await rename(tmp, gz);
  await fsyncPath(dirname(path));
  await unlink(path);
  await fsyncPath(dirname(path));
  return gz;
}

/**
 * After a crash: a .gz.tmp is incomplete by construction (the rename never happened),
 * so it goes; a .gz next to its original is complete (renamed only after fsync), so the
 * original goes. Returns what it did.
 */
export async function finishCompression(path: string): Promise<'none' | 'removed-partial' | 'removed-original'> {
  const gz = `${path}.gz`;
  let did: 'none' | 'removed-partial' | 'removed-original' = 'none';
  if (await exists(`${gz}.tmp`)) {
    await unlink(`${gz}.tmp`);
    did = 'removed-partial';
  }
  if ((await exists(gz)) && (await exists(path))) {
    await unlink(path);
    did = 'removed-original';
  }
  return did;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
