import type { Stats } from 'node:fs';
import { lstat, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fsyncPath } from '../common/fs/atomic-file.js';
import { readFrom, writeTo } from '../common/fs/fd-streams.js';
import { createExclusive, matchOwnerAndMode, openChecked } from './fd-ops.js';

// gzip that a crash cannot turn into data loss: write <file>.gz.tmp, fsync it, rename
// it to <file>.gz, fsync the directory, and only then remove the original. At any
// instant there is the original, or a complete .gz, or both; never only a partial one.
// `finishCompression` completes whatever a crashed run left. The original is read
// through the descriptor that was checked, and the .gz.tmp is created exclusively, so
// neither can be a link planted to read or overwrite another file (fd-ops.ts).

/** `dir`: the stat of the file's directory, whose owner the file must have (as root). */
export async function gzipFile(
  path: string,
  { level = 6, dir, onProgress }: { level?: number; dir?: Stats; onProgress?: (done: number, total: number) => void } = {},
): Promise<string> {
  const gz = `${path}.gz`;
  const tmp = `${gz}.tmp`;
  await unlink(tmp).catch(ignoreMissing);
  const { handle: source, st } = await openChecked(path, dir);
  try {
    const out = await createExclusive(tmp);
    try {
      await matchOwnerAndMode(out, st);
      const input = readFrom(source);
      if (onProgress) {
        let done = 0;
        input.on('data', (chunk: Buffer) => {
          done += chunk.length;
          onProgress(done, st.size);
        });
      }
      await pipeline(input, createGzip({ level }), writeTo(out));
      // As gzip(1) does: the copy keeps the original's times, so maxage and retention
      // count from when the content was written, not from when it was compressed.
      await out.utimes(st.atime, st.mtime);
      await out.sync();
    } catch (err) {
      // A full disk (ENOSPC) most often: the partial copy goes at once, not at the next
      // run, so that it does not hold the space the rest of the run needs.
      await out.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await out.close();
  } finally {
    await source.close();
  }
  await rename(tmp, gz);
  await fsyncPath(dirname(path));
  await unlink(path);
  await fsyncPath(dirname(path));
  return gz;
}

/**
 * After a crash: a .gz.tmp is incomplete by construction (the rename never happened),
 * so it goes; a .gz (a regular file) next to its original is complete (renamed only
 * after fsync), so the original goes. Returns what it did.
 */
export async function finishCompression(path: string): Promise<'none' | 'removed-partial' | 'removed-original'> {
  const gz = `${path}.gz`;
  let did: 'none' | 'removed-partial' | 'removed-original' = 'none';
  if (
    await lstat(`${gz}.tmp`).then(
      () => true,
      () => false,
    )
  ) {
    await unlink(`${gz}.tmp`);
    did = 'removed-partial';
  }
  if ((await isRegular(gz)) && (await isRegular(path))) {
    await unlink(path);
    did = 'removed-original';
  }
  return did;
}

async function isRegular(path: string): Promise<boolean> {
  return lstat(path).then(
    (st) => st.isFile(),
    () => false,
  );
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
