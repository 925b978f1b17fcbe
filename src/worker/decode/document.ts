import type { IsoFormatter } from '../../common/time/iso.js';
// What every document carries, whatever it was decoded from: time, where it was read,
// and which environment and dataset it belongs to.

export interface EventContext {
  environment: string;
  /** Host the shipper read the file on. */
  hostName: string;
  path: string;
  /** Formats the events' times (one per batch: it caches the current second). */
  iso: IsoFormatter;
  /**
   * Time used when the event carries none: when the batch was first queued. It is
   * stable across redeliveries of the job, so a retry lands in the same daily index.
   */
  fallbackTime: Date;
  timeZone: string;
  /** CARBON_PROJECT_NAME: the project of codecarbon data that does not name one. */
  projectName: string;
}

export type Dataset = 'carbon.log' | 'codecarbon.run' | 'codecarbon.report' | 'codecarbon.function' | 'codecarbon.csv';

export type Document = Record<string, unknown> & { '@timestamp': string };

/**
 * Adds the common fields to `fields`, in place: every caller hands over a fresh object
 * of its own (copying it with spreads was a sixth of a worker's CPU, plus its garbage,
 * in the end-to-end profile). Our own fields are assigned after the decoded ones, so a
 * decoded value can never replace them. `time` null means the event had no usable time.
 */
export function finishDocument(
  fields: Record<string, unknown>,
  ctx: EventContext,
  dataset: Dataset,
  offset: number,
  time: Date | null,
  tags?: string[],
): Document {
  if (!time) tags = ingestTimeTagged(tags);
  const doc = fields as Document;
  doc['@timestamp'] = eventTime(ctx, time);
  const log = (fields.log as Record<string, unknown> | undefined) ?? {};
  log.file = { path: ctx.path };
  log.offset = offset;
  doc.log = log;
  if (tags && tags.length > 0) doc.tags = tags;
  doc.host = { name: ctx.hostName };
  doc.environment = ctx.environment;
  doc.component = 'carbon';
  doc.event = { dataset };
  return doc;
}

/**
 * Notes what the sanitizer removed from the document. Only a document it changed carries
 * the count: a zero on every document cost Elasticsearch time for a field nobody reads
 * (`sanitizer.redactions > 0` finds the same documents).
 */
export function noteRedactions(doc: Document, count: number): void {
  if (count > 0) doc.sanitizer = { redactions: count };
}

/** The same note as the JSON text of the document's last member, for a document written as JSON (text-document.ts). */
export function redactionsJson(count: number): string {
  return count > 0 ? `,"sanitizer":{"redactions":${count}}` : '';
}

/** The event's `@timestamp`: its own time, or the batch's fallback when it had none. */
export function eventTime(ctx: EventContext, time: Date | null): string {
  return ctx.iso.format(time ?? ctx.fallbackTime);
}

/** `tags` with the mark of an event whose time is the ingest time. */
export function ingestTimeTagged(tags: string[] | undefined): string[] {
  const out = tags ?? [];
  out.push('timestamp_from_ingest');
  return out;
}
