// What every document carries, whatever it was decoded from: time, where it was read,
// and which environment and dataset it belongs to.

export interface EventContext {
  environment: string;
  /** Host the shipper read the file on. */
  hostName: string;
  path: string;
  /** ISO 8601, made once per batch. */
  ingestedAt: string;
  /**
   * Time used when the event carries none: when the batch was first queued. It is
   * stable across redeliveries of the job, so a retry lands in the same daily index.
   */
  fallbackTime: Date;
  timeZone: string;
  /** CARBON_PROJECT_NAME: the project of codecarbon data that does not name one. */
  projectName: string;
}

export type Dataset = 'carbon.log' | 'codecarbon.report' | 'codecarbon.function' | 'codecarbon.csv';

export type Document = Record<string, unknown> & { '@timestamp': string };

/**
 * Adds the common fields to `fields`. Our own fields are written last so a decoded
 * value can never replace them. `time` null means the event had no usable time.
 */
export function finishDocument(
  fields: Record<string, unknown>,
  ctx: EventContext,
  dataset: Dataset,
  offset: number,
  time: Date | null,
  tags: string[] = [],
): Document {
  if (!time) tags.push('timestamp_from_ingest');
  const log = (fields.log as Record<string, unknown> | undefined) ?? {};
  return {
    ...fields,
    '@timestamp': (time ?? ctx.fallbackTime).toISOString(),
    log: { ...log, file: { path: ctx.path }, offset },
    ...(tags.length > 0 && { tags }),
    host: { name: ctx.hostName },
    environment: ctx.environment,
    component: 'carbon',
    event: { dataset, ingested: ctx.ingestedAt },
  };
}
