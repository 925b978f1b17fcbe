import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { fsyncPath } from '../common/fs/atomic-file.js';
import { readFrom, writeTo } from '../common/fs/fd-streams.js';
import { createExclusive, openChecked } from './fd-ops.js';
import { checkDirectory, UnsafeError } from './safety.js';

// The guide's "Clear logs": `tar -czf …backup-$(date +%Y%m%d).tar.gz` of the codecarbon
// directory before `find … -mtime +30 -delete`. Files past maxage go into one dated
// tar.gz per run in the backup directory: written under a temporary name created
// exclusively, fsynced, read back from the same descriptor and checked against what was
// put in (names, sizes, SHA-256), then renamed into place and the directory fsynced, and
// only then are the originals removed. A crash at any point leaves every original and
// at most a temporary file, which the next run removes: no half archive ever has a final
// name. Each source is read through the descriptor that was opened and checked, so a
// link planted among the files is archived as nothing.

export interface ArchiveTarget {
  dir: string;
  /** Archives are `<prefix>-YYYYMMDD[-N].tar.gz`. */
  prefix: string;
  keepDays: number;
}

interface Entry {
  name: string;
  size: number;
  sha256: string;
}

const TMP_MARK = '.tar.gz.tmp-';

export function archiveName(prefix: string, now: Date, n = 1): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${prefix}-${day}${n > 1 ? `-${n}` : ''}.tar.gz`;
}

/** The backup directory, made if missing, and checked like a policy's directory. */
export async function openArchiveDir(dir: string): Promise<Stats> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  return checkDirectory(dir);
}

/** Temporary archives a crashed run left: incomplete by construction. */
export async function removeHalfArchives(target: ArchiveTarget): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(target.dir).catch(() => [] as string[])) {
    if (!name.startsWith(`${target.prefix}-`) || !name.includes(TMP_MARK)) continue;
    await unlink(join(target.dir, name));
    removed.push(join(target.dir, name));
  }
  return removed;
}

/**
 * Archives `files` (all in `sourceDir`, whose stat `dir` is) into a new dated archive,
 * verifies it, then removes them. Returns the archive's path.
 */
export async function archiveFiles(
  files: string[],
  target: ArchiveTarget,
  now: Date,
  dir: Stats,
  /** Bytes of the sources read into the archive so far. */
  onProgress?: (done: number) => void,
): Promise<string> {
  await removeHalfArchives(target);
  const final = await freeName(target, now);
  const tmp = `${final.slice(0, -'.tar.gz'.length)}${TMP_MARK}${process.pid}`;
  const out = await createExclusive(tmp, { read: true });
  let written: Entry[];
  try {
    written = await writeArchive(out, files, dir, onProgress);
    await out.sync();
    const read = await listArchive(out);
    const problem = compare(written, read);
    if (problem) throw new Error(`archive ${tmp} did not read back as written (${problem}); originals kept`);
  } catch (err) {
    await out.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await out.close();
  if (
    await lstat(final).then(
      () => true,
      () => false,
    )
  ) {
    await unlink(tmp);
    throw new UnsafeError(final, 'appeared while the archive was written', 'remove it and run again; originals kept');
  }
  await rename(tmp, final);
  await fsyncPath(target.dir);
  for (const file of files) await unlink(file);
  if (files.length > 0) await fsyncPath(join(files[0]!, '..'));
  return final;
}

/** Archives older than keepDays, by their mtime: deleted. */
export async function pruneArchives(target: ArchiveTarget, now: Date): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of await readdir(target.dir).catch(() => [] as string[])) {
    if (!name.startsWith(`${target.prefix}-`) || !name.endsWith('.tar.gz')) continue;
    const path = join(target.dir, name);
    const st = await lstat(path);
    if (!st.isFile() || now.getTime() - st.mtimeMs <= target.keepDays * 86_400_000) continue;
    await unlink(path);
    deleted.push(path);
  }
  return deleted;
}

/** Every entry of the archive behind `handle`, read from its first byte. */
export async function listArchive(handle: FileHandle): Promise<Entry[]> {
  const entries: Entry[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      entries.push({ name: entry.header.name, size, sha256: hash.digest('hex') });
    }
  })();
  try {
    await pipeline(readFrom(handle), createGunzip(), extract as unknown as Writable);
  } catch (err) {
    done.catch(() => undefined);
    throw err;
  }
  await done;
  return entries;
}

async function writeArchive(out: FileHandle, files: string[], dir: Stats, onProgress?: (done: number) => void): Promise<Entry[]> {
  const pack = tar.pack();
  const sink = pipeline(pack, createGzip(), writeTo(out));
  // The sink can fail (ENOSPC) while an entry is being fed: that must end the entry's
  // wait, and not be an unhandled rejection before `await sink` below is reached.
  sink.catch(() => undefined);
  const sinkFailed = sink.then(() => new Promise<never>(() => undefined));
  sinkFailed.catch(() => undefined);
  const entries: Entry[] = [];
  let done = 0;
  try {
    for (const file of files) {
      const { handle, st } = await openChecked(file, dir);
      try {
        const hash = createHash('sha256');
        const entry = pack.entry({ name: basename(file), size: st.size, mtime: st.mtime, mode: st.mode & 0o777 });
        const tap = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            done += chunk.length;
            onProgress?.(done);
            cb(null, chunk);
          },
        });
        // The header promised st.size bytes: a file that grew since is cut there, one
        // that shrank fails the entry (and so the archive), and nothing is removed.
        await Promise.race([pipeline(readFrom(handle, 0, st.size), tap, entry as unknown as Writable), sinkFailed]);
        entries.push({ name: basename(file), size: st.size, sha256: hash.digest('hex') });
      } finally {
        await handle.close();
      }
    }
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await sink.catch(() => undefined);
    throw err;
  }
  await sink;
  return entries;
}

function compare(written: Entry[], read: Entry[]): string | null {
  if (read.length !== written.length) return `${read.length} entries, ${written.length} written`;
  for (const [i, w] of written.entries()) {
    const r = read[i]!;
    if (r.name !== w.name || r.size !== w.size || r.sha256 !== w.sha256) return `entry ${w.name} differs`;
  }
  return null;
}

async function freeName(target: ArchiveTarget, now: Date): Promise<string> {
  for (let n = 1; ; n++) {
    const path = join(target.dir, archiveName(target.prefix, now, n));
    if (
      !(await lstat(path).then(
        () => true,
        () => false,
      ))
    )
      return path;
  }
}
