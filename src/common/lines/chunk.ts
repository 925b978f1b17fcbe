import type { BatchJobData, LineChunk, LogRecord, RawRecord } from '../queue/contract.js';
import { LineSplitter, type Line } from './line-splitter.js';
import { MultilineJoiner, type JoinedEvent, type MultilineOptions } from './multiline.js';

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
  if (batch.kind !== 'lines') return batch.records;
  const { startPattern, maxLines, maxBytes } = batch.grouping;
  const grouping = { startPattern: new RegExp(startPattern), maxLines, maxBytes };
  const bytes = payload ?? Buffer.alloc(0);
  const out: LogRecord[] = [];
  let at = 0;
  for (const chunk of batch.records) {
    if (chunk.truncated) {
      out.push({ offset: chunk.offset, text: chunk.text ?? '', truncated: true, ...(chunk.partial && { partial: true }) });
      continue;
    }
    const len = chunk.end - chunk.offset;
    if (at + len > bytes.length) throw new PayloadMismatchError(`payload holds ${bytes.length} bytes; chunks need more than ${at + len}`);
    out.push(...chunkEvents(chunk, bytes.subarray(at, at + len), grouping));
    at += len;
  }
  if (at !== bytes.length) throw new PayloadMismatchError(`payload holds ${bytes.length} bytes; chunks cover ${at}`);
  return out;
}

export function chunkEvents(chunk: LineChunk, bytes: Buffer, grouping: MultilineOptions): LogRecord[] {
  const joiner = new MultilineJoiner(grouping);
  const out: LogRecord[] = [];
  for (const line of chunkLines(chunk.offset, bytes)) for (const e of joiner.push(line)) out.push(logRecord(e));
  const last = joiner.flush();
  if (last) out.push(logRecord(last, chunk.partial));
  return out;
}

function logRecord(e: JoinedEvent, partial = false): LogRecord {
  const record: LogRecord = { offset: e.offset, text: e.text };
  if (e.truncated) record.truncated = true;
  if (partial) record.partial = true;
  return record;
}

/** Lines with exact byte offsets; the last one may lack its newline. */
function chunkLines(offset: number, bytes: Buffer): Line[] {
  const splitter = new LineSplitter(offset, Number.MAX_SAFE_INTEGER);
  const lines = splitter.push(bytes);
  const rest = splitter.takePartial();
  if (rest) lines.push(rest);
  return lines;
}
