import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import type { BatchJobData } from '../common/queue/contract.js';
import type { Registry } from './registry.js';
import { FileTailer } from './tailer.js';

export interface ShipperDeps {
  registry: Registry;
  enqueue: (batch: BatchJobData) => Promise<void>;
  /** Batches waiting in the queue; reading stops above the high-water mark. */
  backlog: () => Promise<number>;
  /** False while Redis is unreachable: reading stops, offsets stay put. */
  redisReady: () => boolean;
  logger: Logger;
  now?: () => number;
}

const PERSIST_EVERY_MS = 1000;
const BACKLOG_CHECK_MS = 1000;
const PRUNE_EVERY_MS = 3600_000;

/** Polls every configured file and ships what is new; one loop, no per-line promises. */
export class Shipper {
  readonly tailers: FileTailer[];
  private stopping = false;
  private loop: Promise<void> | null = null;
  private lastPersist = 0;
  private lastPrune = 0;
  private lastBacklogCheck = 0;
  // Starts paused: the first check (Redis ready, backlog low) opens the tap.
  private paused = true;
  private readonly now: () => number;

  constructor(private readonly config: Config, private readonly deps: ShipperDeps) {
    this.now = deps.now ?? Date.now;
    const s = config.shipper;
    const options = {
      host: config.hostName,
      startAt: s.startAt,
      maxLineBytes: s.maxLineBytes,
      partialLineTimeoutMs: s.partialLineTimeoutMs,
      multiline: { ...s.multiline, startPattern: new RegExp(s.multiline.startPattern) },
      batch: s.batch,
    };
    const paths = config.shipper.inputs.filter((i) => i.kind === 'log').flatMap((i) => i.paths);
    this.tailers = [...new Set(paths)].map(
      (path) => new FileTailer(path, options, { registry: deps.registry, enqueue: deps.enqueue, logger: deps.logger, now: this.now }),
    );
  }

  start(): void {
    if (this.loop) return;
    this.deps.logger.info({ files: this.tailers.map((t) => t.path) }, 'shipper started');
    this.loop = this.run();
  }

  /** Ships what is complete, persists the registry and releases every file. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    if (this.deps.redisReady()) {
      for (const tailer of this.tailers) await tailer.drain().catch((err) => this.deps.logger.error({ err, path: tailer.path }, 'drain failed'));
    }
    await this.persist(true);
    for (const tailer of this.tailers) await tailer.close();
    this.deps.logger.info('shipper stopped');
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let busy = false;
      try {
        if (await this.mayRead()) {
          for (const tailer of this.tailers) {
            if (this.stopping) break;
            busy = (await tailer.poll()) || busy;
          }
        }
        await this.housekeeping();
      } catch (err) {
        this.deps.logger.error({ err }, 'shipper round failed; retrying');
        busy = false;
      }
      if (!busy && !this.stopping) await sleep(this.config.shipper.pollIntervalMs);
    }
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

  private async housekeeping(): Promise<void> {
    if (this.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = this.now();
      const removed = this.deps.registry.prune(this.config.shipper.registryCleanupMs);
      if (removed) this.deps.logger.info({ removed }, 'registry entries of long-gone files removed');
    }
    await this.persist(false);
  }

  private async persist(force: boolean): Promise<void> {
    if (!force && this.now() - this.lastPersist < PERSIST_EVERY_MS) return;
    this.lastPersist = this.now();
    await this.deps.registry.persist();
  }
}
