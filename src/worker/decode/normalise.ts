import type { LogRecord } from '../../common/queue/contract.js';
import { finishDocument, type Document, type EventContext } from './document.js';
import { isCodecarbonRun, runDocument } from './codecarbon-run.js';
import { decodeLogRecord, type DecodedLog } from './log-line.js';

export type { Document, EventContext };

// A JSON line's own keys go to the top level (Filebeat's keys_under_root), except these
// names, which are ours: a clashing key is kept under `json.<key>` instead, so a log
// line can never overwrite the environment, host, offset or time of its event.
export const RESERVED_FIELDS = new Set([
  '@timestamp',
  'message',
  'log',
  'event',
  'host',
  'environment',
  'component',
  'error',
  'tags',
  'json',
  'ecs',
  'sanitizer',
  'codecarbon',
]);

/**
 * A carbon.log event whose document has a fixed shape (text-document.ts): a logging
 * line with any traceback, or a JSON line, whose own keys come first (`fields`) and
 * whose keys that clash with ours go under `json`. Its decoded parts.
 */
export interface TextEvent {
  decoded: DecodedLog;
  offset: number;
  tags?: string[];
  /** A JSON line's own keys, none of them reserved: a fresh object of this record's, which becomes the document. */
  fields?: Record<string, unknown>;
  json?: Record<string, unknown>;
}

/** A carbon.log event: a codecarbon run's document, or a text event. */
export type LogEvent = { doc: Document; text?: undefined } | { doc?: undefined; text: TextEvent };

export function decodeLogEvent(record: LogRecord, ctx: EventContext, patterns: readonly RegExp[] = []): LogEvent {
  const decoded = decodeLogRecord(record.text, ctx.timeZone, patterns);
  let tags: string[] | undefined;
  if (record.truncated || record.partial) {
    tags = [];
    if (record.truncated) tags.push('truncated');
    if (record.partial) tags.push('partial_line');
  }
  const fields = decoded.fields;
  if (!fields) return { text: { decoded, offset: record.offset, tags } };
  // codecarbon's LoggerOutput: a run's record, the same document as its CSV row.
  if (!decoded.level && isCodecarbonRun(fields)) return { doc: runDocument(fields, 'log', ctx, record.offset, decoded.timestamp) };
  let json: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (!RESERVED_FIELDS.has(key)) continue;
    json ??= {};
    json[key] = fields[key];
    delete fields[key];
  }
  return { text: { decoded, offset: record.offset, tags, fields, json } };
}

export function normaliseLogRecord(record: LogRecord, ctx: EventContext, patterns: readonly RegExp[] = []): Document {
  const event = decodeLogEvent(record, ctx, patterns);
  return event.doc ?? textEventDocument(event.text, ctx);
}

/** A text event's document as an object: what text-document.ts writes as JSON directly. */
export function textEventDocument(event: TextEvent, ctx: EventContext): Document {
  return logDocument(event.fields ?? {}, event.decoded, ctx, event.offset, event.tags, event.json);
}

function logDocument(
  fields: Record<string, unknown>,
  decoded: DecodedLog,
  ctx: EventContext,
  offset: number,
  tags: string[] | undefined,
  json?: Record<string, unknown>,
): Document {
  fields.message = decoded.message;
  const log: Record<string, unknown> = {};
  if (decoded.level) log.level = decoded.level;
  if (decoded.logger) log.logger = decoded.logger;
  fields.log = log;
  if (decoded.error) fields.error = decoded.error;
  if (json) fields.json = json;
  return finishDocument(fields, ctx, 'carbon.log', offset, decoded.timestamp, tags);
}
