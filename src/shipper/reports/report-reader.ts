import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { readFrom } from '../../common/fs/fd-streams.js';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import StreamJson from 'stream-json';
import Ignore from 'stream-json/filters/Ignore.js';
import Pick from 'stream-json/filters/Pick.js';
import StreamObject from 'stream-json/streamers/StreamObject.js';
import StreamValues from 'stream-json/streamers/StreamValues.js';
import type { ReportRecord } from '../../common/queue/contract.js';

// Reads a finished codecarbon emissions_*.json report without holding it in memory:
// one streaming pass picks each entry of `functions`, another the rest of the
// document (the summary). A file that is not a complete JSON object becomes a single
// `invalid` record with the parser's error and a bounded slice of the raw text. Every
// pass reads the one descriptor the watcher opened and checked, never the path again.

export const MAX_RAW_SLICE = 4096;

/** A pass over the whole file from its first byte; the descriptor stays open. */
function passOver(handle: FileHandle) {
  return readFrom(handle);
}

export async function hashFile(handle: FileHandle): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    passOver(handle),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb();
      },
    }),
  );
  return { sha256: hash.digest('hex'), size };
}

/**
 * Calls `emit` with records in file order: the summary (position 0), then each
 * function entry (positions 1..n). Positions, not byte offsets, make the ids: the
 * file's identity is its content hash, so equal content yields equal ids.
 */
export async function readReport(handle: FileHandle, emit: (r: ReportRecord) => Promise<void>): Promise<void> {
  if ((await handle.stat()).size === 0) {
    return emit({ offset: 0, report: { part: 'invalid', error: 'not a codecarbon report: the file is empty', raw: '' } });
  }
  let summary: unknown;
  try {
    summary = await topLevelWithoutFunctions(handle);
  } catch (err) {
    return emit({ offset: 0, report: { part: 'invalid', error: (err as Error).message, raw: await rawSlice(handle) } });
  }
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary)) {
    const what = summary === undefined ? 'the file is empty' : Array.isArray(summary) ? 'the report is an array' : `the report is a ${typeof summary}`;
    return emit({ offset: 0, report: { part: 'invalid', error: `not a codecarbon report: ${what}`, raw: await rawSlice(handle) } });
  }
  const fields = summary as Record<string, unknown>;
  await emit({ offset: 0, report: { part: 'summary', fields } });
  const project = typeof fields.project_name === 'string' ? fields.project_name : undefined;
  let position = 0;
  const pending: ReportRecord[] = [];
  await pipeline(
    passOver(handle),
    StreamJson.parser(),
    Pick.pick({ filter: 'functions' }),
    StreamObject.streamObject(),
    new Writable({
      objectMode: true,
      write({ key, value }: { key: string; value: unknown }, _enc, cb) {
        pending.push({ offset: ++position, report: { part: 'function', key, entry: value, ...(project && { project }) } });
        cb();
      },
    }),
  ).catch((err: Error) => {
    // `functions` not an object: the summary stands, the entries are reported.
    pending.push({ offset: ++position, report: { part: 'invalid', error: `functions: ${err.message}`, raw: '' } });
  });
  for (const r of pending) await emit(r);
}

async function topLevelWithoutFunctions(handle: FileHandle): Promise<unknown> {
  let value: unknown;
  let count = 0;
  await pipeline(
    passOver(handle),
    StreamJson.parser(),
    Ignore.ignore({ filter: /^functions\b/ }),
    StreamValues.streamValues(),
    new Writable({
      objectMode: true,
      write(data: { value: unknown }, _enc, cb) {
        count++;
        value = data.value;
        cb();
      },
    }),
  );
  if (count > 1) throw new Error('more than one JSON value in the file');
  return value;
}

async function rawSlice(handle: FileHandle): Promise<string> {
  const buf = Buffer.alloc(MAX_RAW_SLICE);
  const { bytesRead } = await handle.read(buf, 0, MAX_RAW_SLICE, 0);
  return buf.subarray(0, bytesRead).toString('utf8');
}
