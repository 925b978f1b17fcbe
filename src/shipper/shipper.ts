import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch, type FSWatcher } from 'chokidar';
import type { Config } from '../common/config/index.js';
import { systemClock } from '../common/time/clock.js';
import { Backpressure } from './backpressure.js';
import { BacklogProgress } from './backlog-progress.js';
import { RegistrySaver } from './registry-saver.js';
import { compileGlob, expandGlob, isLiteral, type CompiledGlob } from '../common/fs/glob.js';
import { BufferPool } from './lines/buffer-pool.js';
import { RotatedCopies } from './rotated-copies.js';
import { ReportWatcher } from './reports/report-watcher.js';
import type { ShipperDeps, ShipperStats } from './shipper-deps.js';
import { InputTrouble } from './input-trouble.js';
import { FileTailer, type TailerOptions } from './tailer.js';

export type { ShipperDeps, ShipperStats };

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
  private lastDiscovery = -Infinity;
  private reportPaths: string[] = [];
  private readonly now: () => number;
  private readonly trouble: InputTrouble;
  private readonly buffers = new BufferPool();
  private readonly copies: RotatedCopies;
  private readonly backpressure: Backpressure;
  private readonly saver: RegistrySaver;
  private readonly backlog: BacklogProgress;

  constructor(
    private readonly config: Config,
    private readonly deps: ShipperDeps,
  ) {
    this.now = deps.now ?? systemClock;
    const clocked = { logger: deps.logger, now: this.now };
    this.trouble = new InputTrouble(deps.logger, this.now);
    this.backpressure = new Backpressure(
      { highWaterMark: config.shipper.highWaterMark, redisMemoryHighWater: config.shipper.redisMemoryHighWater },
      { ...clocked, redisReady: deps.redisReady, backlog: deps.backlog, redisMemory: deps.redisMemory, enqueued: () => this.stats().batchesEnqueued },
    );
    this.saver = new RegistrySaver(deps.registry, config.shipper.registryCleanupMs, clocked);
    this.backlog = new BacklogProgress(clocked);
    this.copies = new RotatedCopies({ registry: deps.registry, logger: deps.logger, now: this.now, dataDir: config.dataDir });
    const inputs = config.shipper.inputs;
    this.streams = inputs.filter((i) => i.kind !== 'report').flatMap((i) => i.paths.map((p) => ({ glob: compileGlob(p), kind: i.kind as 'log' | 'csv' })));
    this.reportGlobs = inputs.filter((i) => i.kind === 'report').flatMap((i) => i.paths.map(compileGlob));
    this.reports = new ReportWatcher(
      {
        host: config.hostName,
        environment: config.environment,
        source: deps.source,
        settleMs: config.shipper.reportSettleMs,
        batchMaxRecords: config.shipper.batch.maxRecords,
        followSymlinks: config.shipper.followSymlinks,
      },
      {
        registry: deps.registry,
        enqueue: deps.enqueue,
        logger: deps.logger,
        now: this.now,
        refuse: (path, what) => this.trouble.refuse(path, what),
        trouble: (path, err) => this.trouble.failed(path, err),
        untroubled: (path) => this.trouble.untroubled(path),
        clear: (path) => this.trouble.refused.delete(path),
      },
    );
  }

  async start(): Promise<void> {
    if (this.loop) return;
    await this.discover();
    await this.copies.resumeWhileStopped(this.tailers);
    const dirs = [...new Set([...this.streams.map((s) => s.glob.dir), ...this.reportGlobs.map((g) => g.dir)])];
    // Events only shorten the wait: polling stays the source of truth (inotify can
    // miss events on network file systems and under load).
    this.watcher = watch(dirs, { ignoreInitial: true, depth: 0, persistent: false }).on('all', () => this.nudge());
    this.watcher.on('error', (err) => this.deps.logger.warn({ err: (err as Error).message }, 'file watcher error; polling continues'));
    this.deps.logger.info({ inputs: this.config.shipper.inputs }, 'shipper started');
    this.loop = this.run();
  }

  /**
   * Something a round waits on changed (a file event, Redis ready again): the next
   * round starts now instead of after the poll interval. Without it a shipper started
   * before its Redis connection was up sat out a whole interval before reading.
   */
  nudge(): void {
    this.wake.abort();
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
    await this.saver.tick(true);
    for (const tailer of this.tailers.values()) await tailer.close();
    this.deps.logger.info('shipper stopped');
  }

  /** Input paths refused now, with what they are (for /metrics). */
  /** Since when the registry cannot be saved (a full data dir), if it cannot. */
  registryUnsaved() {
    return this.saver.failingSince();
  }

  /** Why reading is paused (backpressure), if it is. */
  paused() {
    return this.backpressure.paused();
  }

  get refused(): ReadonlyMap<string, string> {
    return this.trouble.refused;
  }

  /** Running totals since start (for /metrics: counters, so they only grow). */
  stats(): ShipperStats {
    const tailers = [...this.tailers.values()].map((t) => t.counters);
    const sum = (k: keyof (typeof tailers)[number]) => tailers.reduce((n, c) => n + c[k], 0);
    const reports = this.reports.counters;
    return {
      linesRead: sum('linesRead'),
      bytesRead: sum('bytesRead'),
      recordsEnqueued: sum('recordsEnqueued') + reports.recordsEnqueued,
      batchesEnqueued: sum('batchesEnqueued') + reports.batchesEnqueued,
      problems: {
        unreadable: this.trouble.counts.unreadable,
        registry_write: this.saver.failures,
        refused: this.trouble.counts.refused,
        invalid_report: reports.invalidReports,
        line_truncated: sum('linesTruncated'),
      },
      enqueueFailures: { ...this.trouble.enqueueFailures },
    };
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
        if (await this.backpressure.mayRead()) {
          for (const tailer of this.tailers.values()) {
            if (this.stopping) break;
            busy = (await this.pollOne(tailer)) || busy;
          }
          if (!this.stopping) busy = (await this.reports.poll(this.reportPaths)) || busy;
        }
        await this.backlog.tick(
          async () => [...(await this.unshippedBytes()).values()].reduce((a, b) => a + b, 0),
          () => this.stats().bytesRead,
        );
        await this.saver.tick();
      } catch (err) {
        this.deps.logger.error({ err }, 'shipper round failed; retrying');
        busy = false;
      }
      if (!busy && !this.stopping) await this.idle();
    }
  }

  private async pollOne(tailer: FileTailer): Promise<boolean> {
    try {
      const busy = await tailer.poll();
      this.trouble.fine(tailer.path);
      return busy;
    } catch (err) {
      this.trouble.failed(tailer.path, err);
      return false;
    }
  }

  private async idle(): Promise<void> {
    // A nudge during the round is not lost: the next round starts at once.
    if (!this.wake.signal.aborted) await sleep(this.config.shipper.pollIntervalMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
    if (!this.stopping) this.wake = new AbortController();
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
}
