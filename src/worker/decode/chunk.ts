import type { BatchJobData, LineChunk, LogRecord, RawRecord } from '../../common/queue/contract.js';
import { LineSplitter } from '../../common/lines/line-splitter.js';
import { MultilineJoiner, type JoinedEvent, type MultilineOptions } from './multiline.js';
import { safeRegExp } from '../../common/regex/safe-regex.js';

// The worker's half of shipping raw chunks: split a chunk's bytes into lines with their
// byte offsets and join them into events exactly as a line-by-line shipper would, so
// document ids (file, offset of the event's first byte) do not depend on chunking.

export class PayloadMismatchError extends Error {
  override readonly name = 'PayloadMismatchError';
}

/**
 * A batch's records, its raw line chunks split and joined into carbon.log events.
 * `payload` is the bytes of every chunk but the truncated ones, in order.
 */
export function batchRecords(batch: BatchJobData, payload: Buffer | null): RawRecord[] {
  return [...eachBatchRecord(batch, payload)];
}

/**
 * The same, one at a time: a worker holds the events of the slice it is indexing, not
 * a whole job's, so fewer of them live long enough to be promoted to the old heap.
 * The payload's size is checked against the chunks before anything is produced.
 */
export function* eachBatchRecord(batch: BatchJobData, payload: Buffer | null): Generator<RawRecord> {
  if (batch.kind !== 'lines') {
    yield* batch.records;
    return;
  }
  const { startPattern, maxLines, maxBytes } = batch.grouping;
  const grouping = { startPattern: groupingPattern(startPattern), maxLines, maxBytes };
  const bytes = payload ?? Buffer.alloc(0);
  let need = 0;
  for (const chunk of batch.records) if (!chunk.truncated) need += chunk.end - chunk.offset;
  if (need !== bytes.length) throw new PayloadMismatchError(`payload holds ${bytes.length} bytes; chunks cover ${need}`);
  let at = 0;
  for (const chunk of batch.records) {
    if (chunk.truncated) {
      yield { offset: chunk.offset, text: chunk.text ?? '', truncated: true, ...(chunk.partial && { partial: true }) };
      continue;
    }
    const len = chunk.end - chunk.offset;
    yield* eachChunkEvent(chunk, bytes.subarray(at, at + len), grouping);
    at += len;
  }
}

export function chunkEvents(chunk: LineChunk, bytes: Buffer, grouping: MultilineOptions): LogRecord[] {
  return [...eachChunkEvent(chunk, bytes, grouping)];
}

// Lines are split 64 KiB at a time, so a megabyte chunk is never all lines at once.
// The lines are joined as each piece is split, with no generator of lines between: each
// level of generators a line passed through cost a resumption per line.
const SPLIT_BYTES = 64 * 1024;

function* eachChunkEvent(chunk: LineChunk, bytes: Buffer, grouping: MultilineOptions): Generator<LogRecord> {
  const joiner = new MultilineJoiner(grouping);
  const splitter = new LineSplitter(chunk.offset, Number.MAX_SAFE_INTEGER);
  for (let from = 0; from < bytes.length; from += SPLIT_BYTES) {
    for (const line of splitter.push(bytes.subarray(from, from + SPLIT_BYTES))) {
      const e = joiner.push(line);
      if (e) yield logRecord(e);
    }
  }
  const rest = splitter.takePartial();
  const e = rest && joiner.push(rest);
  if (e) yield logRecord(e);
  const last = joiner.flush();
  if (last) yield logRecord(last, chunk.partial);
}

function logRecord(e: JoinedEvent, partial = false): LogRecord {
  const record: LogRecord = { offset: e.offset, text: e.text };
  if (e.truncated) record.truncated = true;
  if (partial) record.partial = true;
  return record;
}

// The start pattern comes with each batch, from whatever shipper wrote it to Redis: it
// is proved linear like a configured one (a hostile one would hang the worker), and
// compiled once per distinct source, not once per batch.
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 64;

function groupingPattern(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = safeRegExp(source, '', "the batch's multiline start pattern");
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(source, re);
  }
  return re;
}
