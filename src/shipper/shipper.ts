import { lstat, readdir, stat } from 'node:fs/promises';
import { isRoot, NotRegularFileError, openRegular } from '../common/fs/safe-open.js';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import type { Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { progress, type Progress } from '../common/logging/progress.js';
import { baseKeyOf, identify, identityKey, stillSameFile, type FileIdentity } from './identity.js';
import { compileGlob, expandGlob, type CompiledGlob } from './inputs/glob.js';
import type { Registry, RegistryEntry } from './registry.js';
import { BufferPool } from './lines/buffer-pool.js';
import { COMPRESSED_SUFFIX, judgeCompressedCopy } from './compressed-copies.js';
import { ReportWatcher } from './reports/report-watcher.js';
import { FileTailer, type Enqueue, type TailerOptions } from './tailer.js';

export interface ShipperDeps {
  registry: Registry;
  /** This shipper's instance id (shipper/instance.ts): part of every job and document id. */
  source: string;
  enqueue: Enqueue;
  /** Batches waiting in the queue; reading stops above the high-water mark. */
  backlog: () => Promise<number>;
  /** False while Redis is unreachable: reading stops, offsets stay put. */
  redisReady: () => boolean;
  logger: Logger;
  now?: () => number;
}

// Registry writes (tmp + fsync + rename) at most this often: what a crash can replay.
const PERSIST_EVERY_MS = 200;
const BACKLOG_CHECK_MS = 1000;
const PRUNE_EVERY_MS = 3600_000;
const PROGRESS_CHECK_MS = 1000;
// Names rotation gives a copy, after the live name: ".1" or a date (dateext); not ".gz".
const ROTATED_SUFFIX = /^(?:\.\d+|-\d{8}(?:\d{2})?)$/;
// Unshipped bytes from which catching up is reported as progress.
const BACKLOG_REPORT_BYTES = 64 * 1024 * 1024;

/** Input trouble the shipper lived through, by kind: each is also logged when it happens. */
export interface InputProblems {
  /** A followed file could not be read (permissions, not a file, I/O error). */
  unreadable: number;
  /** The registry could not be saved (disk full, read-only): offsets stay in memory. */
  registryWrite: number;
  /** An input path held a symlink, FIFO, device, socket or directory: counted once per path and kind. */
  refused: number;
}

/**
 * Finds the configured files, follows each with a tailer (log, csv) or ships it whole
 * once settled (report), and saves the registry. One loop: discovery, a poll of every
 * file, housekeeping; a file-system event cuts the wait between rounds short.
 */
export class Shipper {
  readonly tailers = new Map<string, FileTailer>();
  readonly reports: ReportWatcher;
  private readonly streams: { glob: CompiledGlob; kind: 'log' | 'csv' }[];
  private readonly reportGlobs: CompiledGlob[];
  private stopping = false;
  private loop: Promise<void> | null = null;
  private watcher: FSWatcher | null = null;
  private wake: AbortController = new AbortController();
  private lastPersist = 0;
  private lastPrune = 0;
  private lastBacklogCheck = 0;
  private lastDiscovery = -Infinity;
  private reportPaths: string[] = [];
  // Starts paused: the first check (Redis ready, backlog low) opens the tap.
  private paused = true;
  private readonly now: () => number;
  private lastProgressCheck = 0;
  /** Path → when its last error was logged. */
  private readonly fileErrors = new Map<string, number>();
  private backlogStart = 0;
  private readonly progress: Progress;
  readonly problems: InputProblems = { unreadable: 0, registryWrite: 0, refused: 0 };
  /** Input paths refused now, with what they are (for /metrics and the logs). */
  readonly refused = new Map<string, string>();
  private readonly buffers = new BufferPool();
  /** Rotated copies with nothing to ship, by path: their stat signature when judged. */
  private readonly settledCopies = new Map<string, string>();
  private registryFailingSince: number | null = null;
  private lastRegistryLog = 0;

  constructor(private readonly config: Config, private readonly deps: ShipperDeps) {
    this.now = deps.now ?? Date.now;
    this.progress = progress('shipping backlog', deps.logger);
    const inputs = config.shipper.inputs;
    this.streams = inputs.filter((i) => i.kind !== 'report').flatMap((i) => i.paths.map((p) => ({ glob: compileGlob(p), kind: i.kind as 'log' | 'csv' })));
    this.reportGlobs = inputs.filter((i) => i.kind === 'report').flatMap((i) => i.paths.map(compileGlob));
    this.reports = new ReportWatcher(
      { host: config.hostName, environment: config.environment, source: deps.source, settleMs: config.shipper.reportSettleMs, batchMaxRecords: config.shipper.batch.maxRecords, followSymlinks: config.shipper.followSymlinks },
      { registry: deps.registry, enqueue: deps.enqueue, logger: deps.logger, now: this.now, refuse: (path, what) => this.refuse(path, what), clear: (path) => this.refused.delete(path) },
    );
  }

  async start(): Promise<void> {
    if (this.loop) return;
    await this.discover();
    await this.resumeRotatedWhileStopped();
    const dirs = [...new Set([...this.streams.map((s) => s.glob.dir), ...this.reportGlobs.map((g) => g.dir)])];
    // Events only shorten the wait: polling stays the source of truth (inotify can
    // miss events on network file systems and under load).
    this.watcher = watch(dirs, { ignoreInitial: true, depth: 0, persistent: false }).on('all', () => this.wake.abort());
    this.watcher.on('error', (err) => this.deps.logger.warn({ err: (err as Error).message }, 'file watcher error; polling continues'));
    this.deps.logger.info({ inputs: this.config.shipper.inputs }, 'shipper started');
    this.loop = this.run();
  }

  /** Ships what is complete, persists the registry and releases every file. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await this.loop;
    await this.watcher?.close();
    if (this.deps.redisReady()) {
      for (const tailer of this.tailers.values()) {
        await tailer.drain().catch((err) => this.deps.logger.error({ err, path: tailer.path }, 'drain failed'));
      }
    }
    await this.persist(true);
    for (const tailer of this.tailers.values()) await tailer.close();
    this.deps.logger.info('shipper stopped');
  }

  /** Bytes on disk not yet in Redis, per followed path. */
  async unshippedBytes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [path, t] of this.tailers) out.set(path, await t.unshippedBytes());
    return out;
  }

  /** Size of each followed path that exists (the "log file size" panel). */
  async fileSizes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const path of this.tailers.keys()) {
      const st = await stat(path).catch(() => null);
      if (st) out.set(path, st.size);
    }
    return out;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let busy = false;
      try {
        if (this.now() - this.lastDiscovery >= this.config.shipper.discoveryIntervalMs) await this.discover();
        if (await this.mayRead()) {
          for (const tailer of this.tailers.values()) {
            if (this.stopping) break;
            busy = (await this.pollOne(tailer)) || busy;
          }
          if (!this.stopping) busy = (await this.reports.poll(this.reportPaths)) || busy;
        }
        await this.housekeeping();
      } catch (err) {
        this.deps.logger.error({ err }, 'shipper round failed; retrying');
        busy = false;
      }
      if (!busy && !this.stopping) await this.idle();
    }
  }

  /**
   * One file's failure (unreadable, a directory where a file was expected, an enqueue
   * Redis refused) must not stop the others: it is logged, at most once a minute per
   * file, and the file is tried again next round from its committed offset.
   */
  private async pollOne(tailer: FileTailer): Promise<boolean> {
    try {
      const busy = await tailer.poll();
      this.fileErrors.delete(tailer.path);
      this.refused.delete(tailer.path);
      return busy;
    } catch (err) {
      if (err instanceof NotRegularFileError) {
        this.refuse(tailer.path, err.what);
        return false;
      }
      this.problems.unreadable++;
      const last = this.fileErrors.get(tailer.path);
      if (last === undefined || this.now() - last >= 60_000) {
        this.fileErrors.set(tailer.path, this.now());
        this.deps.logger.error({ err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, path: tailer.path }, 'cannot read file; other files go on, this one is retried');
      }
      return false;
    }
  }

  /**
   * Not a regular file where an input is expected: reported once, when first seen and
   * again only if it turns into something else, and skipped; nothing else waits on it.
   */
  refuse(path: string, what: string): void {
    if (this.refused.get(path) === what) return;
    this.refused.set(path, what);
    this.problems.refused++;
    this.deps.logger.error({ path, what }, 'input refused: not a regular file; skipped, the other inputs go on');
  }

  private async idle(): Promise<void> {
    if (this.wake.signal.aborted) this.wake = new AbortController();
    await sleep(this.config.shipper.pollIntervalMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  private async discover(): Promise<void> {
    this.lastDiscovery = this.now();
    await this.adoptUnshippedRotated();
    for (const { glob, kind } of this.streams) {
      for (const path of await expandGlob(glob)) {
        if (!this.tailers.has(path)) this.tailers.set(path, new FileTailer(path, this.tailerOptions(kind), this.tailerDeps()));
      }
    }
    // Literal paths are followed before they exist, so a file created later is found
    // at the next poll, not at the next discovery.
    for (const { glob, kind } of this.streams) {
      const literal = join(glob.dir, glob.pattern);
      if (!/[*?[]/.test(glob.pattern) && !this.tailers.has(literal)) this.tailers.set(literal, new FileTailer(literal, this.tailerOptions(kind), this.tailerDeps()));
    }
    this.reportPaths = (await Promise.all(this.reportGlobs.map(expandGlob))).flat();
  }

  /**
   * A file the registry knows, rotated while we were stopped and still on disk under
   * another name (carbon.log.1), is read from its offset to its end. One rotated and
   * deleted is gone: its new successor is a new file, read from the start.
   */
  private async resumeRotatedWhileStopped(): Promise<void> {
    for (const [path, tailer] of this.tailers) {
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
      this.deps.registry.set(key, { ...entry, goneSince: this.now() });
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
  private async adoptUnshippedRotated(): Promise<void> {
    // One listing per directory, however many followed files share it.
    const byDir = new Map<string, [string, FileTailer][]>();
    for (const [path, tailer] of this.tailers) byDir.set(dirname(path), [...(byDir.get(dirname(path)) ?? []), [path, tailer]]);
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
    for (const path of this.settledCopies.keys()) if (!present.has(path)) this.settledCopies.delete(path);
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
    if (this.settledCopies.get(path) === signature) return;
    const handle = await openRegular(path, { singleLink: isRoot() });
    let adopted = false;
    try {
      const id = await identify(handle, true);
      if (!id) return;
      // The newest generation of its identity (see generationKey) is the entry of this file.
      const known = this.deps.registry.latest(identityKey(id));
      if (known ? known[1].offset >= st.size : st.mtimeMs < this.deps.registry.createdAt || this.isCopyOfKnown(id, livePath)) {
        this.settledCopies.set(path, signature);
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
    if (this.settledCopies.get(path) === signature) return;
    // Set first: while it is read, later discoveries must not adopt it again.
    this.settledCopies.set(path, signature);
    const verdict = await judgeCompressedCopy(path, livePath, this.deps.registry, this.config.dataDir, (fp) => tailer.readsFileStartingWith(fp)).catch((err: unknown) => {
      this.settledCopies.delete(path);
      throw err;
    });
    if (verdict.action === 'wait') this.settledCopies.delete(path);
    if (verdict.action !== 'adopt') return;
    this.deps.logger.info({ path, fileId: verdict.key, offset: verdict.offset }, 'a copy compressed by another rotator before it was shipped: reading the rest from the gzip stream');
    await tailer.adoptRotated(path, verdict.handle, verdict.id, verdict.key, verdict.offset);
  }

  private tailerOptions(kind: 'log' | 'csv'): TailerOptions {
    const s = this.config.shipper;
    return {
      kind,
      host: this.config.hostName,
      environment: this.config.environment,
      source: this.deps.source,
      startAt: s.startAt,
      followSymlinks: s.followSymlinks,
      maxLineBytes: s.maxLineBytes,
      partialLineTimeoutMs: s.partialLineTimeoutMs,
      rotatedGraceMs: s.rotatedGraceMs,
      multiline: { ...s.multiline, startPattern: new RegExp(s.multiline.startPattern) },
      batch: s.batch,
    };
  }

  private tailerDeps() {
    return { registry: this.deps.registry, enqueue: this.deps.enqueue, logger: this.deps.logger, now: this.now, buffers: this.buffers };
  }

  private async mayRead(): Promise<boolean> {
    if (!this.deps.redisReady()) return this.setPaused(true, 'redis unreachable');
    if (this.now() - this.lastBacklogCheck >= BACKLOG_CHECK_MS) {
      this.lastBacklogCheck = this.now();
      const waiting = await this.deps.backlog();
      return this.setPaused(waiting >= this.config.shipper.highWaterMark, `queue backlog ${waiting}`);
    }
    return !this.paused;
  }

  private setPaused(paused: boolean, reason: string): boolean {
    if (paused !== this.paused) {
      this.paused = paused;
      this.deps.logger.warn({ reason }, paused ? 'reading paused (backpressure)' : 'reading resumed');
    }
    return !paused;
  }

  /**
   * A large backlog (the first start on an existing log, or after a long Redis outage)
   * is shown as progress: how much of what was unshipped at its start is shipped now.
   */
  private async backlogProgress(): Promise<void> {
    if (this.now() - this.lastProgressCheck < PROGRESS_CHECK_MS) return;
    this.lastProgressCheck = this.now();
    let unshipped = 0;
    for (const bytes of (await this.unshippedBytes()).values()) unshipped += bytes;
    if (this.backlogStart === 0 && unshipped >= BACKLOG_REPORT_BYTES) this.backlogStart = unshipped;
    if (this.backlogStart === 0) return;
    this.progress.update(Math.max(0, this.backlogStart - unshipped), this.backlogStart);
    if (unshipped < BACKLOG_REPORT_BYTES / 4) {
      this.progress.finish();
      this.deps.logger.info({ bytes: this.backlogStart }, 'backlog shipped');
      this.backlogStart = 0;
    }
  }

  private async housekeeping(): Promise<void> {
    await this.backlogProgress();
    if (this.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = this.now();
      const removed = this.deps.registry.prune(this.config.shipper.registryCleanupMs);
      if (removed) this.deps.logger.info({ removed }, 'registry entries of long-gone files removed');
    }
    await this.persist(false);
  }

  /**
   * A registry that cannot be saved (disk full) does not stop shipping: Redis still gets
   * every batch and the offsets stay in memory; a crash before the next good save only
   * replays lines, which the documents' ids absorb. Logged once a minute, counted each time.
   */
  private async persist(force: boolean): Promise<void> {
    if (!force && this.now() - this.lastPersist < PERSIST_EVERY_MS) return;
    this.lastPersist = this.now();
    try {
      await this.deps.registry.persist();
      if (this.registryFailingSince !== null) this.deps.logger.info('registry saved again');
      this.registryFailingSince = null;
    } catch (err) {
      this.problems.registryWrite++;
      if (this.registryFailingSince === null || this.now() - this.lastRegistryLog >= 60_000) {
        this.lastRegistryLog = this.now();
        this.deps.logger.error({ err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, file: this.deps.registry.file }, 'cannot save the registry; shipping goes on, offsets kept in memory');
      }
      this.registryFailingSince ??= this.now();
    }
  }
}

async function findByInode(dir: string, dev: number, ino: number): Promise<string | null> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st && st.isFile() && st.ino === ino && st.dev === dev) return join(dir, name);
  }
  return null;
}
