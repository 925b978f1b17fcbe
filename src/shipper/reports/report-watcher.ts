import { lstat, stat, type FileHandle } from 'node:fs/promises';
import { describeType, isRoot, NotRegularFileError, openRegular } from '../../common/fs/safe-open.js';
import type { Logger } from '../../common/logging/logger.js';
import { CONTRACT_VERSION, type BatchJobData, type ReportRecord } from '../../common/queue/contract.js';
import { EnqueueError } from '../enqueue-error.js';
import type { Registry } from '../registry.js';
import { hashFile, readReport } from './report-reader.js';

// Ships each codecarbon report once, when its writer is done: size and mtime unchanged
// for `settleMs`. Identity is the content hash, so the same content under a new inode
// is not shipped again, and a file rewritten with different content is.

export interface ReportWatcherOptions {
  host: string;
  environment: string;
  source: string;
  settleMs: number;
  batchMaxRecords: number;
  followSymlinks: boolean;
}

export interface ReportWatcherDeps {
  registry: Registry;
  enqueue: (batch: BatchJobData) => Promise<unknown>;
  logger: Logger;
  now: () => number;
  /** A report path that is not a regular file: reported once by the shipper. */
  refuse: (path: string, what: string) => void;
  /** A report that could not be read or queued now: logged and counted by the shipper. */
  trouble: (path: string, err: unknown) => void;
  /** A round went by without trouble for it: the next trouble is logged at once. */
  untroubled: (path: string) => void;
  /** The path is a regular file (again). */
  clear: (path: string) => void;
}

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  changedAt: number;
  /** Content key once shipped (or found shipped): nothing to do until the file changes. */
  done?: string;
}

export class ReportWatcher {
  private readonly seen = new Map<string, Seen>();
  readonly counters = { reportsShipped: 0, recordsEnqueued: 0, batchesEnqueued: 0, invalidReports: 0 };

  constructor(
    private readonly options: ReportWatcherOptions,
    private readonly deps: ReportWatcherDeps,
  ) {}

  /** Looks at the current matching paths; ships those that have settled. */
  async poll(paths: string[]): Promise<boolean> {
    let busy = false;
    const present = new Set(paths);
    for (const [path, s] of this.seen) {
      if (present.has(path)) continue;
      this.seen.delete(path);
      const entry = s.done && this.deps.registry.get(s.done);
      if (s.done && entry) this.deps.registry.set(s.done, { ...entry, goneSince: this.deps.now() });
    }
    for (const path of paths) {
      try {
        busy = (await this.check(path)) || busy;
        this.deps.untroubled(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        // Retried next round, never fatal, and the other reports go on.
        this.deps.trouble(path, err);
      }
    }
    return busy;
  }

  private async check(path: string): Promise<boolean> {
    const st = await (this.options.followSymlinks ? stat(path) : lstat(path));
    const now = this.deps.now();
    const prev = this.seen.get(path);
    if (!st.isFile()) {
      this.deps.refuse(path, st.isSymbolicLink() ? 'a symbolic link (not followed; shipper.followSymlinks opts in)' : describeType(st));
      this.seen.set(path, { size: 0, mtimeMs: st.mtimeMs, ino: st.ino, changedAt: now, done: 'not-a-file' });
      return false;
    }
    this.deps.clear(path);
    if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs || prev.ino !== st.ino) {
      this.seen.set(path, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, changedAt: now });
      return false;
    }
    if (prev.done || now - prev.changedAt < this.options.settleMs) return false;
    let handle: FileHandle;
    try {
      handle = await openRegular(path, { followSymlinks: this.options.followSymlinks, singleLink: isRoot() });
    } catch (err) {
      if (!(err instanceof NotRegularFileError)) throw err;
      this.deps.refuse(path, err.what);
      prev.done = 'not-a-file';
      return false;
    }
    try {
      const { sha256, size } = await hashFile(handle);
      if (size !== st.size) return false; // changed while hashing: wait for it to settle again
      const key = `r-${sha256.slice(0, 32)}`;
      const known = this.deps.registry.get(key);
      if (known && known.offset >= size) {
        prev.done = key;
        return false;
      }
      await this.ship(path, handle, key, st.dev, st.ino, size, sha256);
      prev.done = key;
      return true;
    } finally {
      await handle.close();
    }
  }

  private async ship(path: string, handle: FileHandle, key: string, dev: number, ino: number, size: number, sha256: string): Promise<void> {
    let batch: ReportRecord[] = [];
    let shipped = 0;
    const flush = async (last: boolean) => {
      if (batch.length === 0) return;
      const { host, environment, source } = this.options;
      const data: BatchJobData = {
        v: CONTRACT_VERSION,
        kind: 'report',
        host,
        environment,
        source,
        path,
        fileId: key,
        endOffset: last ? size : 0,
        records: batch,
      };
      await this.deps.enqueue(data).catch((err: unknown) => {
        throw new EnqueueError(path, err);
      });
      shipped += batch.length;
      this.counters.batchesEnqueued++;
      batch = [];
    };
    let invalid = false;
    await readReport(handle, async (record) => {
      if (record.report.part === 'invalid') invalid = true;
      batch.push(record);
      if (batch.length >= this.options.batchMaxRecords) await flush(false);
    });
    await flush(true);
    this.counters.recordsEnqueued += shipped;
    this.counters.reportsShipped++;
    if (invalid) {
      this.counters.invalidReports++;
      this.deps.logger.warn({ path }, 'report is not valid codecarbon JSON; shipped as an error record');
    }
    // Marked only after every batch is in Redis: a crash before re-ships (same ids).
    this.deps.registry.set(key, { dev, ino, fpLen: size, fpHash: sha256, path, offset: size, goneSince: undefined });
    this.deps.logger.info({ path, fileId: key, records: shipped }, 'report shipped');
  }
}
