import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../common/logging/logger.js';
import { CONTRACT_VERSION, type BatchJobData, type LogRecord } from '../common/queue/contract.js';
import { identify, identityKey, stillSameFile, type FileIdentity } from './identity.js';
import { LineSplitter } from './lines/line-splitter.js';
import { MultilineJoiner, type JoinedEvent, type MultilineOptions } from './lines/multiline.js';
import type { Registry } from './registry.js';

export interface TailerOptions {
  host: string;
  startAt: 'beginning' | 'end';
  maxLineBytes: number;
  partialLineTimeoutMs: number;
  multiline: MultilineOptions & { flushTimeoutMs: number };
  batch: { maxRecords: number; maxBytes: number; lingerMs: number };
}

export interface TailerDeps {
  registry: Registry;
  /** Resolves once Redis holds the batch. */
  enqueue: (batch: BatchJobData) => Promise<void>;
  logger: Logger;
  now: () => number;
}

export interface TailerCounters {
  linesRead: number;
  bytesRead: number;
  recordsEnqueued: number;
  batchesEnqueued: number;
}

const CHUNK = 64 * 1024;
// Bytes read per poll before other files get their turn.
const MAX_BYTES_PER_POLL = 8 * 1024 * 1024;

interface OpenFile {
  handle: FileHandle;
  id: FileIdentity;
  key: string;
  /** Offset up to which Redis has everything; the registry holds the same. */
  committed: number;
  splitter: LineSplitter;
  joiner: MultilineJoiner;
  batch: LogRecord[];
  batchBytes: number;
  /** Offset just past the last record in `batch`. */
  batchEnd: number;
  batchStartedAt: number;
  lastGrowthAt: number;
}

/**
 * Follows one path: reads complete lines from the committed offset, joins multiline
 * events, ships batches, and moves the registry only after Redis has accepted them.
 * Rename rotation: the old file is read to its end before the new one is opened.
 * Truncation (copytruncate): reading restarts at 0 under the new content's identity.
 */
export class FileTailer {
  private file: OpenFile | null = null;
  private pendingHandle: FileHandle | null = null;
  private pendingSince = 0;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  readonly counters: TailerCounters = { linesRead: 0, bytesRead: 0, recordsEnqueued: 0, batchesEnqueued: 0 };

  constructor(readonly path: string, private readonly options: TailerOptions, private readonly deps: TailerDeps) {}

  /** Bytes on disk not yet in Redis (for the lag metric). */
  async unshippedBytes(): Promise<number> {
    if (!this.file) return 0;
    const st = await this.file.handle.stat();
    return Math.max(0, st.size - this.file.committed);
  }

  /** One round of work. Returns true when it read or shipped anything. */
  async poll(): Promise<boolean> {
    if (!this.file && !(await this.openFile())) return false;
    const file = this.file!;
    try {
      if (await this.detectTruncation(file)) return true;
      const read = await this.readAvailable(file);
      await this.flushTimedOut(file);
      if (read === 0 && (await this.rotatedAway(file))) {
        await this.finishRotated(file);
        return true;
      }
      return read > 0;
    } catch (err) {
      // A failed enqueue (or read) must not move the offset: start again from what
      // Redis holds, the lines read since are read again.
      this.deps.logger.error({ err, path: this.path }, 'tailing failed; rewinding to the committed offset');
      this.rewind(file);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pendingHandle?.close().catch(() => undefined);
    this.pendingHandle = null;
    if (this.file) await this.file.handle.close().catch(() => undefined);
    this.file = null;
  }

  /** Ships what is complete, then releases the file (shutdown). */
  async drain(): Promise<void> {
    if (this.file) {
      const done = this.file.joiner.flush();
      if (done) this.add(this.file, done);
      await this.ship(this.file);
    }
  }

  private async openFile(): Promise<boolean> {
    if (!this.pendingHandle) {
      try {
        this.pendingHandle = await open(this.path, 'r');
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
    const key = identityKey(id);
    const size = (await handle.stat()).size;
    const known = this.deps.registry.get(key);
    let offset = known ? known.offset : this.options.startAt === 'end' ? size : 0;
    if (offset > size) {
      this.deps.logger.warn({ path: this.path, offset, size }, 'file is shorter than its registry offset; reading from 0');
      offset = 0;
    }
    this.file = this.freshState(handle, id, key, offset);
    this.deps.registry.set(key, { ...id, path: this.path, offset, goneSince: undefined });
    this.deps.logger.info({ path: this.path, fileId: key, offset, resumed: Boolean(known) }, 'following file');
    return true;
  }

  private freshState(handle: FileHandle, id: FileIdentity, key: string, offset: number): OpenFile {
    return {
      handle, id, key,
      committed: offset,
      splitter: new LineSplitter(offset, this.options.maxLineBytes),
      joiner: new MultilineJoiner(this.options.multiline),
      batch: [], batchBytes: 0, batchEnd: offset,
      batchStartedAt: this.deps.now(),
      lastGrowthAt: this.deps.now(),
    };
  }

  private async readAvailable(file: OpenFile): Promise<number> {
    let total = 0;
    while (total < MAX_BYTES_PER_POLL) {
      const { bytesRead } = await file.handle.read(this.buf, 0, CHUNK, file.splitter.position);
      if (bytesRead === 0) break;
      total += bytesRead;
      this.counters.bytesRead += bytesRead;
      for (const line of file.splitter.push(this.buf.subarray(0, bytesRead))) {
        this.counters.linesRead++;
        for (const event of file.joiner.push(line)) {
          this.add(file, event);
          if (this.batchFull(file)) await this.ship(file);
        }
      }
    }
    if (total > 0) file.lastGrowthAt = this.deps.now();
    return total;
  }

  private async flushTimedOut(file: OpenFile): Promise<void> {
    const quiet = this.deps.now() - file.lastGrowthAt;
    if (file.splitter.pendingBytes > 0 && quiet >= this.options.partialLineTimeoutMs) this.takePartial(file);
    if (file.joiner.hasPending && quiet >= this.options.multiline.flushTimeoutMs) {
      this.add(file, file.joiner.flush()!);
    }
    if (file.batch.length > 0 && this.deps.now() - file.batchStartedAt >= this.options.batch.lingerMs) {
      await this.ship(file);
    }
  }

  private takePartial(file: OpenFile): void {
    const partial = file.splitter.takePartial();
    if (!partial) return;
    for (const event of file.joiner.push(partial)) this.add(file, event);
    const last = file.joiner.flush();
    if (last) this.add(file, { ...last, partial: true } as JoinedEvent);
  }

  private add(file: OpenFile, event: JoinedEvent & { partial?: boolean }): void {
    if (file.batch.length === 0) file.batchStartedAt = this.deps.now();
    const record: LogRecord = { offset: event.offset, text: event.text };
    if (event.truncated) record.truncated = true;
    if (event.partial) record.partial = true;
    file.batch.push(record);
    file.batchBytes += event.end - event.offset;
    file.batchEnd = event.end;
  }

  private batchFull(file: OpenFile): boolean {
    return file.batch.length >= this.options.batch.maxRecords || file.batchBytes >= this.options.batch.maxBytes;
  }

  private async ship(file: OpenFile): Promise<void> {
    if (file.batch.length === 0) return;
    const endOffset = file.batchEnd;
    await this.deps.enqueue({
      v: CONTRACT_VERSION, kind: 'log', host: this.options.host, path: this.path,
      fileId: file.key, endOffset, records: file.batch,
    });
    this.counters.batchesEnqueued++;
    this.counters.recordsEnqueued += file.batch.length;
    file.committed = endOffset;
    file.batch = [];
    file.batchBytes = 0;
    this.deps.registry.set(file.key, { ...file.id, path: this.path, offset: endOffset, goneSince: undefined });
  }

  private rewind(file: OpenFile): void {
    this.file = this.freshState(file.handle, file.id, file.key, file.committed);
  }

  private async detectTruncation(file: OpenFile): Promise<boolean> {
    const { size } = await file.handle.stat();
    if (size >= file.splitter.position && (await stillSameFile(file.handle, file.id))) return false;
    // Ship what was read before the cut: those bytes were on disk and are complete.
    await this.ship(file);
    this.deps.logger.warn({ path: this.path, size, readTo: file.splitter.position }, 'file truncated or rewritten in place; reading the new content from 0');
    this.deps.registry.set(file.key, { ...file.id, path: this.path, offset: file.committed, goneSince: this.deps.now() });
    this.pendingHandle = file.handle;
    this.pendingSince = this.deps.now();
    this.file = null;
    return true;
  }

  private async rotatedAway(file: OpenFile): Promise<boolean> {
    try {
      const st = await stat(this.path);
      return st.ino !== file.id.ino || st.dev !== file.id.dev;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  }

  /** The path now names another file (or none): ship the old one to its last byte. */
  private async finishRotated(file: OpenFile): Promise<void> {
    await this.readAvailable(file);
    this.takePartial(file);
    const last = file.joiner.flush();
    if (last) this.add(file, last);
    await this.ship(file);
    this.deps.registry.set(file.key, { ...file.id, path: this.path, offset: file.committed, goneSince: this.deps.now() });
    this.deps.logger.info({ path: this.path, fileId: file.key, offset: file.committed }, 'rotated file finished');
    await file.handle.close();
    this.file = null;
  }
}
