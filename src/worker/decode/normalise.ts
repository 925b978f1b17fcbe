import type { LogRecord } from '../../common/queue/contract.js';
import { finishDocument, type Document, type EventContext } from './document.js';
import { isCodecarbonRun, runDocument } from './codecarbon-run.js';
import { decodeLogRecord } from './log-line.js';

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

export function normaliseLogRecord(record: LogRecord, ctx: EventContext, patterns: readonly RegExp[] = []): Document {
  const decoded = decodeLogRecord(record.text, ctx.timeZone, patterns);
  // codecarbon's LoggerOutput: a run's record, the same document as its CSV row.
  if (decoded.fields && !decoded.level && isCodecarbonRun(decoded.fields)) return runDocument(decoded.fields, 'log', ctx, record.offset, decoded.timestamp);
  let tags: string[] | undefined;
  if (record.truncated || record.partial) {
    tags = [];
    if (record.truncated) tags.push('truncated');
    if (record.partial) tags.push('partial_line');
  }

  // decoded.fields is a fresh object of this record's own: it becomes the document.
  const fields: Record<string, unknown> = decoded.fields ?? {};
  let json: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (!RESERVED_FIELDS.has(key)) continue;
    json ??= {};
    json[key] = fields[key];
    delete fields[key];
  }
  fields.message = decoded.message;
  const log: Record<string, unknown> = {};
  if (decoded.level) log.level = decoded.level;
  if (decoded.logger) log.logger = decoded.logger;
  fields.log = log;
  if (decoded.error) fields.error = decoded.error;
  if (json) fields.json = json;
  return finishDocument(fields, ctx, 'carbon.log', record.offset, decoded.timestamp, tags);
}
