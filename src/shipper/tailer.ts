import type { FileHandle } from 'node:fs/promises';
import { isRoot, openRegular } from '../common/fs/safe-open.js';
import { CONTRACT_VERSION, type CsvRecord, type LineChunk } from '../common/queue/contract.js';
import { identify, identityKey, stillSameFile, type FileIdentity } from '../common/registry/identity.js';
import { decideStart } from './start-decision.js';
import type { Built } from './record-builder.js';
import { anchorHolds, readChunks, rotatedAway } from './file-reads.js';
import { noteFile, openFileState } from './open-file.js';
import { EnqueueError } from './enqueue-error.js';
import type { Enqueue, OpenFile, TailerCounters, TailerDeps, TailerOptions } from './tailer-types.js';

export type { Enqueue, TailerCounters, TailerDeps, TailerOptions };

// A read a little over a batch: the chunk cut from it (at the last event boundary) then
// fills a batch alone, and its bytes go to Redis as a view of the read buffer, uncopied.
const READ_MARGIN = 64 * 1024;
const MIN_READ = 16 * 1024;
// Bytes read per file per poll before other files get their turn.
const MAX_BYTES_PER_POLL = 8 * 1024 * 1024;

/**
 * Follows one path: reads complete lines from the committed offset, builds records
 * (multiline log events or CSV rows), ships batches, and moves the registry only after
 * Redis has accepted them. A file renamed away is read on, concurrently with its
 * successor, until it has been quiet for `rotatedGraceMs`, so lines a writer adds
 * before reopening are not lost. Truncation (copytruncate) restarts at 0 under the new
 * content's identity.
 */
export class FileTailer {
  private file: OpenFile | null = null;
  private draining: OpenFile[] = [];
  private pendingHandle: FileHandle | null = null;
  private pendingSince = 0;
  readonly counters: TailerCounters = { linesRead: 0, bytesRead: 0, recordsEnqueued: 0, batchesEnqueued: 0, linesTruncated: 0 };

  constructor(
    readonly path: string,
    private readonly options: TailerOptions,
    private readonly deps: TailerDeps,
  ) {}

  /** Is this file (by device and inode) the one followed, or one being read to its end? */
  follows(dev: number, ino: number): boolean {
    return this.open().some((f) => f.id.dev === dev && f.id.ino === ino) || false;
  }

  /** Does a file this tailer reads now start with this first line? */
  readsFileStartingWith(fp: { fpHash: string; fpLen: number }): boolean {
    return this.open().some((f) => f.id.fpHash === fp.fpHash && f.id.fpLen === fp.fpLen);
  }

  /** Bytes on disk not yet in Redis, over the followed file and rotated ones (the lag metric). */
  async unshippedBytes(): Promise<number> {
    let total = 0;
    for (const f of this.open()) total += Math.max(0, (await f.handle.stat()).size - f.committed);
    return total;
  }

  /** One round of work. Returns true when it read or shipped anything. */
  async poll(): Promise<boolean> {
    let busy = false;
    for (const old of [...this.draining]) busy = (await this.guard(old, () => this.pollRotated(old))) || busy;
    if (!this.file && !(await this.openFile())) return busy;
    const file = this.file!;
    return (await this.guard(file, () => this.pollCurrent(file))) || busy;
  }

  /** Ships what is complete (shutdown); offsets of anything pending stay put. */
  async drain(): Promise<void> {
    for (const f of this.open()) {
      for (const built of f.builder.flush()) this.add(f, built);
      await this.ship(f);
    }
  }

  async close(): Promise<void> {
    await this.pendingHandle?.close().catch(() => undefined);
    this.pendingHandle = null;
    for (const f of this.open()) await f.handle.close().catch(() => undefined);
    this.file = null;
    this.draining = [];
  }

  private open(): OpenFile[] {
    return this.file ? [...this.draining, this.file] : [...this.draining];
  }

  private async guard(file: OpenFile, work: () => Promise<boolean>): Promise<boolean> {
    try {
      return await work();
    } catch (err) {
      // A failed enqueue (or read) must not move the offset: start again from what
      // Redis holds; the lines read since are read again. The caller logs it.
      await this.rewind(file).catch(() => undefined);
      throw err;
    }
  }

  private async pollCurrent(file: OpenFile): Promise<boolean> {
    if (await this.detectTruncation(file)) return true;
    const read = await this.readAvailable(file);
    await this.flushTimedOut(file);
    if (read === 0 && (await rotatedAway(this.path, file.id, this.options.followSymlinks))) {
      file.rotatedAt = this.deps.now();
      this.draining.push(file);
      this.file = null;
      this.deps.logger.info({ path: file.path, fileId: file.key }, 'file rotated away; reading it to its end');
      return true;
    }
    return read > 0;
  }

  private async pollRotated(file: OpenFile): Promise<boolean> {
    const read = await this.readAvailable(file);
    await this.flushTimedOut(file);
    if (read > 0 || this.deps.now() - file.lastGrowthAt < this.options.rotatedGraceMs) return read > 0;
    // Quiet past the grace period: whatever is left, a last line without newline
    // included, is complete now.
    for (const built of [...file.builder.takePartial(), ...file.builder.flush()]) this.add(file, built);
    await this.ship(file);
    noteFile(this.deps.registry, file, this.deps.now());
    this.deps.logger.info({ path: file.path, fileId: file.key, offset: file.committed }, 'rotated file finished');
    await file.handle.close();
    this.draining = this.draining.filter((f) => f !== file);
    return true;
  }

  private async openFile(): Promise<boolean> {
    if (!this.pendingHandle) {
      try {
        this.pendingHandle = await openRegular(this.path, { followSymlinks: this.options.followSymlinks, singleLink: isRoot() });
        this.pendingSince = this.deps.now();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    }
    const handle = this.pendingHandle;
    // No identity while the file holds no complete first line, unless it has been
    // quiet so long that its partial line must be shipped anyway.
    const idle = this.deps.now() - this.pendingSince >= this.options.partialLineTimeoutMs;
    const id = await identify(handle, idle);
    if (!id) return false;
    this.pendingHandle = null;
    const base = identityKey(id);
    const size = (await handle.stat()).size;
    const known = this.deps.registry.latest(base);
    const start = decideStart(base, known, size, this.options.startAt, this.deps.now());
    const { key, offset } = start;
    if (start.kind === 'reused') {
      const [previous, entry] = start.previous;
      if (entry.goneSince === undefined) this.deps.registry.set(previous, { ...entry, goneSince: this.deps.now() });
      this.deps.logger.warn(
        { path: this.path, fileId: key, previous, previousOffset: entry.offset, size },
        'a new file with the identity of one read before (inode reused, or truncated); reading it from 0 under its own id',
      );
    }
    this.file = await this.freshState(handle, this.path, id, key, offset);
    noteFile(this.deps.registry, this.file, undefined);
    if (start.kind !== 'resume') await this.saveNewEntry();
    this.deps.logger.info({ path: this.path, fileId: key, offset, resumed: start.kind === 'resume' }, 'following file');
    return true;
  }

  /**
   * A file read for the first time is on disk in the registry before any batch of it
   * can be in Redis. Otherwise a kill within the registry's save interval left batches
   * of a file the registry did not know; if another rotator then gzipped it, the .gz
   * (a new inode) looked never seen and was shipped again under other ids (found by the
   * chaos suite). A registry that cannot be saved does not stop reading: the shipper's
   * own save loop reports it.
   */
  private async saveNewEntry(): Promise<void> {
    await this.deps.registry.persist().catch(() => undefined);
  }

  /** Also used at start for a rotated file the registry knows but the path no longer names. */
  async adoptRotated(path: string, handle: FileHandle, id: FileIdentity, key: string, offset: number): Promise<void> {
    const file = await this.freshState(handle, path, id, key, offset);
    file.rotatedAt = this.deps.now();
    this.draining.push(file);
    if (!this.deps.registry.get(key)) {
      noteFile(this.deps.registry, file, undefined);
      await this.saveNewEntry();
    }
    this.deps.logger.info({ path, fileId: file.key, offset }, 'reading a rotated copy with unshipped bytes to its end');
  }

  private freshState(handle: FileHandle, path: string, id: FileIdentity, key: string, offset: number): Promise<OpenFile> {
    return openFileState(handle, { path, id, key, offset }, this.options, this.deps);
  }

  private async readAvailable(file: OpenFile): Promise<number> {
    let total = 0;
    while (total < MAX_BYTES_PER_POLL) {
      // No bigger than what the file holds beyond our position (a buffer per followed
      // file: with many quiet files, megabyte buffers added up to hundreds of MB).
      const waiting = file.knownSize === undefined ? Infinity : file.knownSize - file.builder.position;
      const want = Math.min(this.options.batch.maxBytes + READ_MARGIN, Math.max(MIN_READ, total === 0 ? waiting : Infinity));
      const { records, lines, bytesRead } = await file.builder.read(file.handle, want);
      if (bytesRead === 0) break;
      total += bytesRead;
      this.counters.bytesRead += bytesRead;
      this.counters.linesRead += lines;
      for (const built of records) {
        this.add(file, built);
        if (file.batch.full()) await this.ship(file);
      }
    }
    if (total > 0) file.lastGrowthAt = this.deps.now();
    return total;
  }

  private async flushTimedOut(file: OpenFile): Promise<void> {
    const quiet = this.deps.now() - file.lastGrowthAt;
    if (quiet >= this.options.partialLineTimeoutMs) for (const built of file.builder.takePartial()) this.add(file, built);
    if (quiet >= this.options.multiline.flushTimeoutMs) for (const built of file.builder.flush()) this.add(file, built);
    if (file.batch.lingered()) await this.ship(file);
  }

  private add(file: OpenFile, built: Built): void {
    file.batch.add(built);
    if ('truncated' in built.record && built.record.truncated) {
      this.counters.linesTruncated++;
      this.deps.logger.warn(
        { path: file.path, offset: built.record.offset, bytes: built.end - built.record.offset, kept: this.options.maxLineBytes },
        'line longer than maxLineBytes; shipped cut, the rest skipped',
      );
    }
  }

  private async ship(file: OpenFile): Promise<void> {
    const batch = file.batch;
    if (batch.empty) return;
    const { host, environment, source } = this.options;
    const base = { v: CONTRACT_VERSION, host, environment, source, path: file.path, fileId: file.key, ids: file.ids, endOffset: batch.end } as const;
    const { startPattern, maxLines, maxBytes } = this.options.multiline;
    const covered = await this.deps
      .enqueue(
        this.options.kind === 'csv'
          ? { ...base, kind: 'csv', records: batch.records as CsvRecord[] }
          : { ...base, kind: 'lines', records: batch.records as LineChunk[], grouping: { startPattern: startPattern.source, maxLines, maxBytes } },
        batch.payload,
        async (queued) => [await readChunks(file.handle, queued)],
      )
      .catch((err: unknown) => {
        throw new EnqueueError(file.path, err);
      });
    this.counters.batchesEnqueued++;
    this.counters.recordsEnqueued += batch.records.length;
    file.builder.release();
    file.committed = covered;
    batch.clear();
    noteFile(this.deps.registry, file, undefined);
    // A job left from before a crash, cut elsewhere, stood in for this batch: read on
    // from where that job ends.
    if (covered !== batch.end) {
      this.deps.logger.info(
        { path: file.path, fileId: file.key, covered, read: batch.end },
        'batch was already queued before a restart; reading on from its end',
      );
      await this.rewind(file);
    }
  }

  private async rewind(file: OpenFile): Promise<void> {
    const fresh = await this.freshState(file.handle, file.path, file.id, file.key, file.committed);
    fresh.rotatedAt = file.rotatedAt;
    if (this.file === file) this.file = fresh;
    else this.draining = this.draining.map((f) => (f === file ? fresh : f));
  }

  private async detectTruncation(file: OpenFile): Promise<boolean> {
    const { size } = await file.handle.stat();
    file.knownSize = size;
    if (size >= file.builder.position && (await stillSameFile(file.handle, file.id)) && (await anchorHolds(file))) return false;
    // Ship what was read before the cut: those bytes were on disk and are complete.
    await this.ship(file);
    this.deps.logger.warn({ path: this.path, size, readTo: file.builder.position }, 'file truncated or rewritten in place; reading the new content from 0');
    noteFile(this.deps.registry, file, this.deps.now());
    this.pendingHandle = file.handle;
    this.pendingSince = this.deps.now();
    this.file = null;
    return true;
  }
}
