import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isRoot, openRegular } from '../common/fs/safe-open.js';
import type { Logger } from '../common/logging/logger.js';
import { COMPRESSED_SUFFIX, judgeCompressedCopy } from './compressed-copies.js';
import { baseKeyOf, identify, identityKey, stillSameFile, type FileIdentity } from '../common/registry/identity.js';
import type { Registry, RegistryEntry } from './registry.js';
import type { FileTailer } from './tailer.js';

// Rotated copies the tailers did not follow to their end: files rotated while the
// shipper was stopped, copies made and rotated away unseen (stopped, or paused by
// backpressure), and copies another rotator compressed. Each is read, from its
// registry offset or from 0, by the tailer of the path it was rotated from.

// Names rotation gives a copy, after the live name: ".1" or a date (dateext); not ".gz".
// And "-2026120200.backup": when the application re-creates its log between logrotate's
// rename and create (Python's WatchedFileHandler reopens a missing path with O_CREAT),
// logrotate finds the destination taken and renames the application's file to that
// name (logrotate.c, createOutputFile) with the lines written there in it.
const ROTATED_SUFFIX = /^(?:\.\d+|-\d{8}(?:\d{2})?|-\d{10}\.backup)$/;

export interface RotatedCopiesDeps {
  registry: Registry;
  logger: Logger;
  now: () => number;
  /** Where compressed copies are inflated to be read. */
  dataDir: string;
}

export class RotatedCopies {
  /** Copies with nothing to ship, by path: their stat signature when judged. */
  private readonly settled = new Map<string, string>();

  constructor(private readonly deps: RotatedCopiesDeps) {}

  /**
   * A file the registry knows, rotated while we were stopped and still on disk under
   * another name (carbon.log.1), is read from its offset to its end. One rotated and
   * deleted is gone: its new successor is a new file, read from the start.
   */
  async resumeWhileStopped(tailers: ReadonlyMap<string, FileTailer>): Promise<void> {
    for (const [path, tailer] of tailers) {
      for (const [key, entry] of this.deps.registry.byPath(path)) {
        if (entry.goneSince !== undefined) continue;
        // Rotation goes on while we start: a copy renamed or compressed between two of
        // these steps is not an error; the periodic sweep finds where it went.
        await this.resumeOne(path, tailer, key, entry).catch((err) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        });
      }
    }
  }

  private async resumeOne(path: string, tailer: FileTailer, key: string, entry: RegistryEntry): Promise<void> {
    const current = await lstat(path).catch(() => null);
    if (current && current.ino === entry.ino && current.dev === entry.dev) return;
    const found = await findByInode(dirname(path), entry.dev, entry.ino);
    if (!found) {
      this.deps.registry.set(key, { ...entry, goneSince: this.deps.now() });
      return;
    }
    const handle = await openRegular(found, { singleLink: isRoot() });
    if ((await stillSameFile(handle, entry)) && identityKey(entry) === baseKeyOf(key) && (await handle.stat()).size > entry.offset) {
      await tailer.adoptRotated(found, handle, entry, key, entry.offset);
    } else {
      await handle.close();
    }
  }

  /**
   * Rotated copies (carbon.log.1, carbon.log-20261127) with bytes not in Redis, which no
   * tailer reads: files created and rotated away while the shipper was stopped, or
   * paused by backpressure, or between two of its polls. Rotation leaves such copies
   * uncompressed until shipped (rotation/shipped.ts), so they are read here from their
   * registry offset, or from 0 if never seen. Copies older than this shipper's first
   * start were shipped by whatever ran before it, and are left alone.
   */
  async adoptUnshipped(tailers: ReadonlyMap<string, FileTailer>): Promise<void> {
    // One listing per directory, however many followed files share it.
    const byDir = new Map<string, [string, FileTailer][]>();
    for (const [path, tailer] of tailers) byDir.set(dirname(path), [...(byDir.get(dirname(path)) ?? []), [path, tailer]]);
    const present = new Set<string>();
    for (const [dir, followed] of byDir) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        const rest = (path: string) => name.slice(basename(path).length);
        const match = followed.find(([path]) => name.startsWith(basename(path)) && (ROTATED_SUFFIX.test(rest(path)) || COMPRESSED_SUFFIX.test(rest(path))));
        if (!match) continue;
        const copy = join(dir, name);
        present.add(copy);
        const adopt = COMPRESSED_SUFFIX.test(rest(match[0])) ? this.adoptCompressed(copy, match[1], match[0]) : this.adoptOne(copy, match[1], match[0]);
        await adopt.catch((err) => {
          // Compressed or deleted since the listing: nothing left to read there.
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          this.deps.logger.warn({ err: (err as Error).message, path: copy }, 'cannot check a rotated copy; trying again later');
        });
      }
    }
    for (const path of this.settled.keys()) if (!present.has(path)) this.settled.delete(path);
  }

  /**
   * A copy (copytruncate) starts with the same first line as the file it was copied
   * from, under another inode. Its bytes were shipped from the original, up to the
   * truncate: reading it would ship them twice. (The lines written between the last
   * read and the truncate are the window README states for copytruncate.)
   */
  private isCopyOfKnown(id: FileIdentity, livePath: string): boolean {
    for (const e of this.deps.registry.all().values()) {
      if (e.path === livePath && e.fpHash === id.fpHash && e.fpLen === id.fpLen && (e.ino !== id.ino || e.dev !== id.dev)) return true;
    }
    return false;
  }

  private async adoptOne(path: string, tailer: FileTailer, livePath: string): Promise<void> {
    const st = await lstat(path);
    if (!st.isFile() || tailer.follows(st.dev, st.ino)) return;
    // Judged before and not changed since: no need to open and hash it every second.
    const signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (this.settled.get(path) === signature) return;
    const handle = await openRegular(path, { singleLink: isRoot() });
    let adopted = false;
    try {
      const id = await identify(handle, true);
      if (!id) return;
      // The newest generation of its identity (see generationKey) is the entry of this file.
      const known = this.deps.registry.latest(identityKey(id));
      if (known ? known[1].offset >= st.size : st.mtimeMs < this.deps.registry.createdAt || this.isCopyOfKnown(id, livePath)) {
        this.settled.set(path, signature);
        return;
      }
      await tailer.adoptRotated(path, handle, id, known?.[0] ?? identityKey(id), known?.[1].offset ?? 0);
      adopted = true;
    } finally {
      if (!adopted) await handle.close();
    }
  }

  /** A copy another rotator compressed (compressed-copies.ts): judged once per version of it. */
  private async adoptCompressed(path: string, tailer: FileTailer, livePath: string): Promise<void> {
    const st = await lstat(path);
    if (!st.isFile()) return;
    const signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    if (this.settled.get(path) === signature) return;
    // Set first: while it is read, later discoveries must not adopt it again.
    this.settled.set(path, signature);
    const verdict = await judgeCompressedCopy(path, livePath, this.deps.registry, this.deps.dataDir, (fp) => tailer.readsFileStartingWith(fp)).catch(
      (err: unknown) => {
        this.settled.delete(path);
        throw err;
      },
    );
    if (verdict.action === 'wait') this.settled.delete(path);
    if (verdict.action !== 'adopt') return;
    this.deps.logger.info(
      { path, fileId: verdict.key, offset: verdict.offset },
      'a copy compressed by another rotator before it was shipped: reading the rest from the gzip stream',
    );
    await tailer.adoptRotated(path, verdict.handle, verdict.id, verdict.key, verdict.offset);
  }
}

async function findByInode(dir: string, dev: number, ino: number): Promise<string | null> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st?.isFile() && st.ino === ino && st.dev === dev) return join(dir, name);
  }
  return null;
}
