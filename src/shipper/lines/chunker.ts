import type { FileHandle } from 'node:fs/promises';
import type { LineChunk } from '../../common/queue/contract.js';
import { alwaysStarts } from '../../common/lines/boundary.js';
import { BufferPool } from './buffer-pool.js';

// Cuts a carbon.log byte stream into chunks of whole lines for the workers to split and
// join. Bytes stay bytes (no decoding here). Per line it only looks for the newline
// (memchr) and checks the length; the start pattern is tested on a few lines per chunk,
// to end the chunk where an event begins.
// Holds at most one chunk plus one line; a line over maxLineBytes keeps its first
// maxLineBytes and the rest is skipped to its newline, as a line splitter would.

export interface ChunkerOptions {
  maxLineBytes: number;
  /** Shared by the shipper's tailers; a private one when not given. */
  pool?: BufferPool;
  /** A chunk is cut at the last line boundary once this size has no event boundary. */
  chunkBytes: number;
  startPattern: RegExp;
}

export interface BuiltChunk {
  record: LineChunk;
  end: number;
  /** The chunk's bytes (none for a truncated line, whose kept text is in the record). */
  bytes?: Buffer;
}

const EMPTY = Buffer.alloc(0);
const SPACE = 0x20;
const TAB = 0x09;
// Bytes of a line the start pattern is tested against.
const START_TEST_BYTES = 4096;
// Lines looked at, from the end, for an event boundary before waiting for more data.
const MAX_BOUNDARY_SCAN = 1000;
// A held tail this small moves out of a big read buffer, so the buffer can go back to
// the pool once its chunks are shipped, instead of staying with a quiet file.
const SMALL_TAIL = 64 * 1024;
const BIG_BUFFER = 256 * 1024;

export class LineChunker {
  /** RecordBuilder: only CSV needs a header. */
  readonly needsHeader = false;
  /** Bytes from `start` not yet in a chunk; always begins at a line start. */
  private pending: Buffer = EMPTY;
  private start: number;
  /** An over-long line being skipped to its newline: its offset and the bytes kept. */
  private skipping: { offset: number; kept: Buffer } | null = null;
  private pos: number;
  /** Length of `pending` before the latest bytes were added. */
  private heldLength = 0;
  /** The pooled read buffer `pending` lives in, if it lives in one. */
  private current: Buffer | null = null;
  /** Pooled buffers that chunks not yet shipped point into: back to the pool on release(). */
  private readonly referenced = new Set<Buffer>();
  private readonly pool: BufferPool;

  constructor(
    offset: number,
    private readonly options: ChunkerOptions,
  ) {
    this.start = offset;
    this.pos = offset;
    this.pool = options.pool ?? new BufferPool(1);
  }

  /** Offset of the next byte expected. */
  get position(): number {
    return this.pos;
  }

  primeHeader(): void {}

  push(bytes: Buffer): { records: BuiltChunk[]; lines: number } {
    const buf = this.room(bytes.length);
    bytes.copy(buf, buf.length - bytes.length);
    return this.added(buf);
  }

  /**
   * Reads up to `max` bytes at `position` straight behind the bytes held, so the chunks
   * sent are views of the read buffers: no copy of the data on its way to Redis.
   */
  async read(handle: FileHandle, max: number): Promise<{ records: BuiltChunk[]; lines: number; bytesRead: number }> {
    const buf = this.room(max);
    const held = buf.length - max;
    const { bytesRead } = await handle.read(buf, held, max, this.pos);
    if (bytesRead === 0) {
      this.pending = buf.subarray(0, held);
      return { records: [], lines: 0, bytesRead };
    }
    return { ...this.added(buf.subarray(0, held + bytesRead)), bytesRead };
  }

  /**
   * Every chunk built so far is in Redis: the read buffers behind them may be reused.
   * Reusing them, rather than leaving each to the garbage collector, is what keeps the
   * collector from running on every megabyte read.
   */
  release(): void {
    for (const buf of this.referenced) if (buf !== this.current) this.pool.give(buf);
    this.referenced.clear();
  }

  /** A buffer with the bytes held at its front and `n` bytes of room after them. */
  private room(n: number): Buffer {
    const size = this.pending.length + n;
    // Never a buffer an unshipped chunk still points into: only released ones.
    const buf = this.pool.take(size);
    this.pending.copy(buf, 0);
    this.heldLength = this.pending.length;
    this.leaveCurrent();
    this.current = buf;
    return buf.subarray(0, size);
  }

  /** The held bytes moved out of the current buffer: it goes back now unless chunks point into it. */
  private leaveCurrent(): void {
    if (this.current && !this.referenced.has(this.current)) this.pool.give(this.current);
    this.current = null;
  }

  /** `buf` is the bytes held followed by new ones. */
  private added(buf: Buffer): { records: BuiltChunk[]; lines: number } {
    const out: BuiltChunk[] = [];
    const from = this.heldLength;
    const base = this.pos;
    this.pos += buf.length - from;
    let rest = buf;
    let lines = 0;
    if (this.skipping) {
      const nl = rest.indexOf(10);
      this.pending = EMPTY;
      if (nl === -1) return { records: out, lines };
      out.push(this.finishSkip(base + nl + 1));
      lines++;
      rest = rest.subarray(nl + 1);
      this.pending = rest;
      lines += this.splitLong(out, 0);
    } else {
      this.pending = rest;
      lines += this.splitLong(out, from);
    }
    this.cutAtBoundary(out);
    if (this.current && this.current.length > BIG_BUFFER && this.pending.length < SMALL_TAIL) {
      this.pending = Buffer.from(this.pending);
      this.leaveCurrent();
    }
    return { records: out, lines };
  }

  /** Everything held, a last line without newline included (rotated away, or quiet). */
  takePartial(): BuiltChunk[] {
    const out: BuiltChunk[] = [];
    if (this.skipping) out.push(this.finishSkip(this.pos, true));
    if (this.pending.length > 0) out.push(this.take(this.pending.length, this.pending[this.pending.length - 1] !== 10));
    return out;
  }

  /** The complete lines held back waiting for the next event to begin. */
  flush(): BuiltChunk[] {
    const lineEnd = this.pending.lastIndexOf(10) + 1;
    return lineEnd > 0 ? [this.take(lineEnd)] : [];
  }

  /**
   * Walks the newlines of the bytes just added (counting lines on the way) and cuts out
   * any line over maxLineBytes, complete or not, so a runaway line never grows memory.
   */
  private splitLong(out: BuiltChunk[], from: number): number {
    const max = this.options.maxLineBytes;
    let lines = 0;
    let lineStart = from === 0 ? 0 : this.pending.lastIndexOf(10, from - 1) + 1;
    for (let nl = this.pending.indexOf(10, from); nl !== -1; nl = this.pending.indexOf(10, lineStart)) {
      lines++;
      if (nl - lineStart > max) {
        const len = nl - lineStart;
        if (lineStart > 0) out.push(this.take(lineStart));
        out.push(this.truncatedLine(len, len + 1));
        lineStart = 0;
        continue;
      }
      lineStart = nl + 1;
    }
    if (this.pending.length - lineStart > max) {
      if (lineStart > 0) out.push(this.take(lineStart));
      this.skipping = { offset: this.start, kept: Buffer.from(this.pending.subarray(0, max)) };
      this.start += this.pending.length;
      this.pending = EMPTY;
    }
    return lines;
  }

  /** Ships the complete lines up to the last line that surely begins an event. */
  private cutAtBoundary(out: BuiltChunk[]): void {
    const lastNl = this.pending.lastIndexOf(10);
    if (lastNl === -1) return;
    let cut = this.lastEventStart(lastNl);
    // No boundary in a whole chunk (a huge traceback): cut at a line instead.
    if (cut === 0 && lastNl + 1 >= this.options.chunkBytes) cut = lastNl + 1;
    if (cut > 0) out.push(this.take(cut));
  }

  /** Start of the last complete line that begins an event whatever came before it. */
  private lastEventStart(lastNl: number): number {
    let nl = lastNl;
    for (let scanned = 0; nl > 0 && scanned < MAX_BOUNDARY_SCAN; scanned++) {
      const prev = this.pending.lastIndexOf(10, nl - 1);
      const start = prev + 1;
      if (start > 0 && this.beginsEvent(start, nl)) return start;
      nl = prev;
    }
    return 0;
  }

  /** Such a line never continues the event before it (common/lines/boundary.ts). */
  private beginsEvent(start: number, nl: number): boolean {
    const first = this.pending[start];
    if (first === SPACE || first === TAB) return false;
    let stop = Math.min(nl, start + START_TEST_BYTES);
    if (stop === nl && this.pending[stop - 1] === 13) stop--;
    const head = this.pending.toString('utf8', start, stop);
    return alwaysStarts(head, this.options.startPattern);
  }

  /** The first `n` pending bytes as a chunk. */
  private take(n: number, partial = false): BuiltChunk {
    const bytes = this.pending.subarray(0, n);
    if (this.current) this.referenced.add(this.current);
    const record: LineChunk = { offset: this.start, end: this.start + n };
    if (partial) record.partial = true;
    this.pending = n === this.pending.length ? EMPTY : this.pending.subarray(n);
    this.start += n;
    return { record, end: record.end, bytes };
  }

  /** A complete over-long line at the head of `pending`: `len` bytes, newline at `next - 1`. */
  private truncatedLine(len: number, next: number): BuiltChunk {
    const kept = this.pending.subarray(0, Math.min(len, this.options.maxLineBytes));
    const record: LineChunk = { offset: this.start, end: this.start + next, text: kept.toString('utf8'), truncated: true };
    this.pending = this.pending.subarray(next);
    this.start += next;
    return { record, end: record.end };
  }

  private finishSkip(end: number, partial = false): BuiltChunk {
    const { offset, kept } = this.skipping!;
    this.skipping = null;
    this.start = end;
    const record: LineChunk = { offset, end, text: kept.toString('utf8'), truncated: true };
    if (partial) record.partial = true;
    return { record, end };
  }
}
