// One pure place that decides what an Elasticsearch answer means for a document:
// indexed, try again later, or dead-letter with the reason. Modelled on the three
// channels of elasticsearch-js's bulk helper (retry, drop-with-reason, abort), except
// that nothing is dropped: "drop" here means the dead-letter index.

export type Outcome = { kind: 'indexed'; duplicate: boolean } | { kind: 'retry'; reason: string } | { kind: 'dead'; reason: string; type: string };

export interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string | null; caused_by?: { type?: string; reason?: string | null } } | null;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function classifyItem(item: BulkItemResult): Outcome {
  const { status, error } = item;
  if (status >= 200 && status < 300) return { kind: 'indexed', duplicate: false };
  // `create` with a deterministic _id: a conflict means an earlier delivery won; for a
  // run's document (`index`, external_gte), that a newer version of the run is there.
  if (status === 409) return { kind: 'indexed', duplicate: true };
  const type = error?.type ?? `http_${status}`;
  const reason = describe(error) || `status ${status}`;
  if (RETRY_STATUS.has(status)) return { kind: 'retry', reason: `${type}: ${reason}` };
  // Shards not ready yet or the cluster blocked writes: transient, not the document's fault.
  if (type === 'unavailable_shards_exception' || type === 'cluster_block_exception') {
    return { kind: 'retry', reason: `${type}: ${reason}` };
  }
  return { kind: 'dead', type, reason };
}

/**
 * A failed request as a whole (no per-item answers). Connection problems, timeouts,
 * 429 and 5xx are worth waiting for; anything else (401, 403, a bad request) is a
 * configuration problem that also must not lose data, so it is retried too, but
 * reported as such.
 */
export function classifyRequestError(err: unknown): { kind: 'retry'; reason: string; configProblem: boolean } {
  const e = err as { name?: string; message?: string; meta?: { statusCode?: number } };
  const status = e.meta?.statusCode;
  const reason = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
  const transient = status === undefined || RETRY_STATUS.has(status);
  return { kind: 'retry', reason, configProblem: !transient };
}

function describe(error: BulkItemResult['error']): string {
  if (!error) return '';
  const cause = error.caused_by?.reason ? ` (caused by ${error.caused_by.type}: ${error.caused_by.reason})` : '';
  return `${error.reason ?? ''}${cause}`;
}

/**
 * Why Elasticsearch makes the worker wait, from a retry's reason, for the operator:
 * writes blocked (the flood-stage disk watermark, or a read-only block set by hand),
 * overloaded (429 rejections), or unavailable (down, unreachable, 5xx, shards not ready).
 */
export type WaitCause = 'writes_blocked' | 'overloaded' | 'unavailable';

export function waitCause(reason: string): WaitCause {
  if (/cluster_block_exception|read[-_]only|flood[- ]stage/i.test(reason)) return 'writes_blocked';
  if (/\b429\b|es_rejected_execution|too_many_requests|circuit_breaking/i.test(reason)) return 'overloaded';
  return 'unavailable';
}
