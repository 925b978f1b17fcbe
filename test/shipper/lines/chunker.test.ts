import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BufferPool } from '../../../src/shipper/lines/buffer-pool.js';
import { DEFAULT_START_PATTERN } from '../../../src/common/lines/boundary.js';
import { chunkEvents } from '../../../src/worker/decode/chunk.js';
import { LineSplitter } from '../../../src/common/lines/line-splitter.js';
import { MultilineJoiner } from '../../../src/worker/decode/multiline.js';
import type { LogRecord } from '../../../src/common/queue/contract.js';
import { LineChunker, type BuiltChunk } from '../../../src/shipper/lines/chunker.js';

const grouping = { startPattern: new RegExp(DEFAULT_START_PATTERN), maxLines: 500, maxBytes: 1 << 20 };

/** Pushes `bytes` in pieces of the given sizes, then takes everything, and expands the chunks as a worker would. */
function viaChunks(bytes: Buffer, pieces: number[], opts: { maxLineBytes?: number; chunkBytes?: number } = {}): LogRecord[] {
  const chunker = new LineChunker(0, { maxLineBytes: opts.maxLineBytes ?? 1 << 20, chunkBytes: opts.chunkBytes ?? 4096, startPattern: grouping.startPattern });
  const chunks: BuiltChunk[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = pieces[i % pieces.length]!;
    chunks.push(...chunker.push(bytes.subarray(at, at + n)).records);
    at += n;
  }
  chunks.push(...chunker.takePartial());
  // Chunks tile the file: each starts where the previous one ended.
  for (const [i, c] of chunks.entries()) expect(c.record.offset).toBe(i === 0 ? 0 : chunks[i - 1]!.end);
  return chunks.flatMap((c) =>
    c.record.truncated ? [{ offset: c.record.offset, text: c.record.text!, truncated: true }] : chunkEvents(c.record, c.bytes!, grouping),
  );
}

/** The reference: a line splitter and the multiline joiner over the whole file. */
function viaLines(bytes: Buffer): LogRecord[] {
  const splitter = new LineSplitter(0, 1 << 20);
  const joiner = new MultilineJoiner(grouping);
  const lines = splitter.push(bytes);
  const partial = splitter.takePartial();
  if (partial) lines.push(partial);
  const events = lines.flatMap((l) => joiner.push(l) ?? []);
  const last = joiner.flush();
  if (last) events.push(last);
  return events.map((e, i) => {
    const r: LogRecord = { offset: e.offset, text: e.text };
    if (i === events.length - 1 && partial) r.partial = true;
    return r;
  });
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sampleLog(rand: () => number, lines: number): Buffer {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = rand();
    if (r < 0.5) out.push(`INFO:src.components.plan:step ${i} done`);
    else if (r < 0.65) out.push(`{"level":"info","n":${i},"msg":"caf\u00e9 \u2603"}`);
    else if (r < 0.75) out.push(`2026-11-27 01:02:03,456 - carbon - WARNING - slow step ${i}\r`);
    else if (r < 0.85) {
      out.push(
        `ERROR:carbon:failed ${i}`,
        'Traceback (most recent call last):',
        '  File "a.py", line 1, in f',
        '    x = 1 / 0',
        'ZeroDivisionError: division by zero',
      );
    } else if (r < 0.9) out.push(`    indented continuation ${i}`);
    else if (r < 0.95) out.push(`no start pattern here ${i}`);
    else out.push('');
  }
  const text = Buffer.from(out.join('\n') + (rand() < 0.5 ? '\n' : 'INFO:x:tail without newline'));
  return text;
}

describe('LineChunker + chunkEvents', () => {
  it('make the same events, with the same offsets, as splitting and joining line by line', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = seeded(seed);
      const bytes = sampleLog(rand, 300);
      const reference = viaLines(bytes);
      for (const pieces of [[bytes.length], [1], [7, 100, 3], [4096], [65536]]) {
        expect(viaChunks(bytes, pieces), `seed ${seed} pieces ${pieces.join(',')}`).toEqual(reference);
      }
    }
  });

  it('agree on megabyte chunks too, which the worker splits 64 KiB at a time (lines, CRLF and UTF-8 across the seams)', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const bytes = sampleLog(seeded(seed), 40_000);
      expect(bytes.length).toBeGreaterThan(4 * 65536);
      expect(viaChunks(bytes, [bytes.length], { chunkBytes: 1 << 20 }), `seed ${seed}`).toEqual(viaLines(bytes));
    }
  });

  it('keep exact byte offsets across invalid UTF-8 (bytes stay bytes until the worker)', () => {
    const bytes = Buffer.concat([Buffer.from('INFO:a:one\nINFO:b:'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\nINFO:c:three \u00e9\n')]);
    const events = viaChunks(bytes, [5, 9]);
    expect(events.map((e) => e.offset)).toEqual([0, 11, 22]);
    expect(events[1]!.text).toBe('INFO:b:\ufffd\ufffd\ufffd');
    expect(events).toEqual(viaLines(bytes));
  });

  it('cut a line over maxLineBytes, flag it, skip the rest, and go on after it', () => {
    const long = 'X'.repeat(5000);
    const bytes = Buffer.from(`INFO:a:before\n${long}\nINFO:b:after\n${long}`);
    for (const pieces of [[bytes.length], [100], [1000, 7]]) {
      const events = viaChunks(bytes, pieces, { maxLineBytes: 1000 });
      expect(events.map((e) => [e.offset, e.text.length, Boolean(e.truncated)])).toEqual([
        [0, 13, false],
        [14, 1000, true],
        [5015, 12, false],
        [5028, 1000, true],
      ]);
    }
  });

  it('hold no more than a chunk and a line of a file with no newline at all', () => {
    const chunker = new LineChunker(0, { maxLineBytes: 1000, chunkBytes: 4096, startPattern: grouping.startPattern });
    for (let i = 0; i < 1000; i++) chunker.push(Buffer.alloc(10_000, 0x41));
    const held = (chunker as unknown as { pending: Buffer; skipping: { kept: Buffer } }).skipping.kept.length;
    expect(held).toBe(1000);
    const [cut] = chunker.takePartial();
    expect(cut!.record).toMatchObject({ offset: 0, end: 10_000_000, truncated: true, partial: true });
  });

  it('keep no read buffer per read of a quiet file or a slowly written line (buffers go back to the pool)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chunker-'));
    const file = join(dir, 'carbon.log');
    writeFileSync(file, 'INFO:a:one\nINFO:b:partial');
    const handle = await open(file, 'r');
    const pool = new BufferPool(2);
    const allocs = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const chunker = new LineChunker(0, { maxLineBytes: 1 << 20, chunkBytes: 4096, startPattern: grouping.startPattern, pool });
    try {
      for (let i = 0; i < 200; i++) {
        await chunker.read(handle, 64 * 1024);
        if (i % 10 === 0) appendFileSync(file, 'x');
      }
      const internals = chunker as unknown as { referenced: Set<Buffer> };
      // Chunks cut (one) point into one buffer until shipped; nothing else is held.
      expect(internals.referenced.size).toBeLessThanOrEqual(1);
      chunker.release();
      expect(internals.referenced.size).toBe(0);
      // 200 reads, a handful of buffers: each went back to the pool and was taken again.
      expect(allocs.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      allocs.mockRestore();
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('end a chunk only where an event begins, so a traceback is never split by a read', () => {
    const bytes = Buffer.from('ERROR:a:boom\nTraceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\nINFO:b:next\n');
    const chunker = new LineChunker(0, { maxLineBytes: 1000, chunkBytes: 4096, startPattern: grouping.startPattern });
    const first = chunker.push(bytes.subarray(0, 40)).records;
    expect(first).toEqual([]);
    const second = chunker.push(bytes.subarray(40)).records;
    expect(second.map((c) => c.bytes!.toString())).toEqual(['ERROR:a:boom\nTraceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n']);
    expect(chunker.flush().map((c) => c.bytes!.toString())).toEqual(['INFO:b:next\n']);
  });
});
