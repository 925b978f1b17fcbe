import type { BatchJobData, LineChunk, LogRecord, RawRecord } from '../queue/contract.js';
import { LineSplitter, type Line } from './line-splitter.js';
import { MultilineJoiner, type JoinedEvent, type MultilineOptions } from './multiline.js';

// The worker's half of shipping raw chunks: split a chunk into lines with their byte
// offsets and join them into events exactly as the shipper used to, so document ids
// (file, offset of the event's first byte) do not depend on how the file was chunked.

/** A batch's records, its raw line chunks split and joined into carbon.log events. */
export function batchRecords(batch: BatchJobData): RawRecord[] {
  if (batch.kind !== 'lines') return batch.records;
  const { startPattern, maxLines, maxBytes } = batch.grouping;
  const grouping = { startPattern: new RegExp(startPattern), maxLines, maxBytes };
  return batch.records.flatMap((chunk) => chunkEvents(chunk, grouping));
}

export function chunkEvents(chunk: LineChunk, grouping: MultilineOptions): LogRecord[] {
  if (chunk.truncated) return [{ offset: chunk.offset, text: chunk.text ?? '', truncated: true }];
  const joiner = new MultilineJoiner(grouping);
  const out: LogRecord[] = [];
  for (const line of chunkLines(chunk)) for (const e of joiner.push(line)) out.push(logRecord(e));
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

/** A chunk's lines with exact byte offsets; the last one may lack its newline (partial). */
export function chunkLines(chunk: LineChunk): Line[] {
  if (chunk.base64 !== undefined) {
    // Not valid UTF-8: split the bytes themselves, as the shipper would have.
    const splitter = new LineSplitter(chunk.offset, Number.MAX_SAFE_INTEGER);
    const lines = splitter.push(Buffer.from(chunk.base64, 'base64'));
    const rest = splitter.takePartial();
    return rest ? [...lines, rest] : lines;
  }
  const text = chunk.text ?? '';
  // One UTF-16 unit per byte: pure ASCII, so string positions are byte offsets.
  const ascii = text.length === chunk.end - chunk.offset;
  const lines: Line[] = [];
  let offset = chunk.offset;
  for (let from = 0; from < text.length; ) {
    const nl = text.indexOf('\n', from);
    const stop = nl === -1 ? text.length : nl;
    let line = text.slice(from, stop);
    const end = offset + (ascii ? stop - from : Buffer.byteLength(line)) + (nl === -1 ? 0 : 1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    lines.push({ offset, end, text: line, truncated: false });
    offset = end;
    from = stop + 1;
  }
  return lines;
}
