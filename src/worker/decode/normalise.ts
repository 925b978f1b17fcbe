import type { RawRecord } from '../../common/queue/contract.js';
import { decodeLogRecord } from './log-line.js';

export interface EventContext {
  environment: string;
  /** Host the shipper read the file on. */
  hostName: string;
  path: string;
  ingestedAt: Date;
  /**
   * Time used when the event carries none: when the batch was first queued. It is
   * stable across redeliveries of the job, so a retry lands in the same daily index.
   */
  fallbackTime: Date;
  timeZone: string;
}

export type Document = Record<string, unknown> & { '@timestamp': string };

// A JSON line's own keys go to the top level (Filebeat's keys_under_root), except these
// names, which are ours: a clashing key is kept under `json.<key>` instead, so a log
// line can never overwrite the environment, host, offset or time of its event.
export const RESERVED_FIELDS = new Set([
  '@timestamp', 'message', 'log', 'event', 'host', 'environment', 'component', 'error', 'tags', 'json', 'ecs', 'sanitizer',
]);

export function normaliseLogRecord(record: RawRecord, ctx: EventContext): Document {
  const decoded = decodeLogRecord(record.text, ctx.timeZone);
  const tags: string[] = [];
  if (record.truncated) tags.push('truncated');
  if (record.partial) tags.push('partial_line');
  const time = decoded.timestamp ?? ctx.fallbackTime;
  if (!decoded.timestamp) tags.push('timestamp_from_ingest');

  const doc: Document = { '@timestamp': time.toISOString() };
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(decoded.fields ?? {})) {
    if (RESERVED_FIELDS.has(key)) json[key] = value;
    else doc[key] = value;
  }
  doc.message = decoded.message;
  doc.log = {
    ...(decoded.level && { level: decoded.level }),
    ...(decoded.logger && { logger: decoded.logger }),
    file: { path: ctx.path },
    offset: record.offset,
  };
  if (decoded.error) doc.error = decoded.error;
  if (Object.keys(json).length > 0) doc.json = json;
  if (tags.length > 0) doc.tags = tags;
  doc.host = { name: ctx.hostName };
  doc.environment = ctx.environment;
  doc.component = 'carbon';
  doc.event = { dataset: 'carbon.log', ingested: ctx.ingestedAt.toISOString() };
  return doc;
}
