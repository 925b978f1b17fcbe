import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NotRegularFileError } from '../common/fs/safe-open.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import type { Config } from '../common/config/index.js';
import { progress, type Progress } from '../common/logging/progress.js';
import { compileGlob, expandGlob, isLiteral, type CompiledGlob } from '../common/fs/glob.js';
import { BufferPool } from './lines/buffer-pool.js';
import { RotatedCopies } from './rotated-copies.js';
import { ReportWatcher } from './reports/report-watcher.js';
import type { InputProblems, ShipperDeps } from './shipper-deps.js';
import { FileTailer, type TailerOptions } from './tailer.js';

export type { InputProblems, ShipperDeps };

// Registry writes (tmp + fsync + rename) at most this often: what a crash can replay.
const PERSIST_EVERY_MS = 200;
const BACKLOG_CHECK_MS = 1000;
const PRUNE_EVERY_MS = 3600_000;
const PROGRESS_CHECK_MS = 1000;
// Unshipped bytes from which catching up is reported as progress.
const BACKLOG_REPORT_BYTES = 64 * 1024 * 1024;

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
  private readonly copies: RotatedCopies;
  private registryFailingSince: number | null = null;
  private lastRegistryLog = 0;

  constructor(private readonly config: Config, private readonly deps: ShipperDeps) {
    this.now = deps.now ?? Date.now;
    this.progress = progress('shipping backlog', deps.logger);
    this.copies = new RotatedCopies({ registry: deps.registry, logger: deps.logger, now: this.now, dataDir: config.dataDir });
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
    await this.copies.resumeWhileStopped(this.tailers);
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
    await this.copies.adoptUnshipped(this.tailers);
    for (const { glob, kind } of this.streams) {
      for (const path of await expandGlob(glob)) {
        if (!this.tailers.has(path)) this.tailers.set(path, new FileTailer(path, this.tailerOptions(kind), this.tailerDeps()));
      }
    }
    // Literal paths are followed before they exist, so a file created later is found
    // at the next poll, not at the next discovery.
    for (const { glob, kind } of this.streams) {
      const literal = join(glob.dir, glob.pattern);
      if (isLiteral(glob) && !this.tailers.has(literal)) this.tailers.set(literal, new FileTailer(literal, this.tailerOptions(kind), this.tailerDeps()));
    }
    this.reportPaths = (await Promise.all(this.reportGlobs.map((g) => expandGlob(g)))).flat();
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

