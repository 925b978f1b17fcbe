import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../../common/logging/logger.js';
import { backoffMs, jittered } from '../../common/backoff.js';
import { deadLetterIndex } from '../../common/indices/names.js';
import { RetryLaterError } from '../errors.js';
import { BULK_ANSWER } from './answer.js';
import { documentJson, requestBody, type BodySpan } from './body.js';
import { classifyItem, classifyRequestError, type BulkItemResult } from './classify.js';

/** One document's operation, already written into its slice's body (body.ts). */
export interface IndexRequest extends BodySpan {
  index: string;
  id: string;
  /**
   * A codecarbon run's document (codecarbon-run.ts): written with `index` and this
   * external version, so a newer version of the run replaces an older one and an older
   * one is refused (409, counted as a duplicate). Without it: `create`.
   */
  version?: number;
  runId?: string;
}

/** A document refused before it was sent (too old for retention, say), or by Elasticsearch. */
export interface DeadLetter {
  id: string;
  targetIndex: string;
  /** The sanitized document as JSON. */
  json: string;
  type: string;
  reason: string;
  attempts: number;
}

export interface IndexReport {
  indexed: number;
  duplicates: number;
  deadLettered: number;
  retries: number;
}

export function emptyReport(): IndexReport {
  return { indexed: 0, duplicates: 0, deadLettered: 0, retries: 0 };
}

export interface IndexerOptions {
  indexPrefix: string;
  environment: string;
  /** Rounds inside one job before handing the rest back to BullMQ's backoff. */
  attemptsPerJob: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxBulkBytes: number;
}

/**
 * Bulk-indexes with `create` and deterministic ids, retries only the items that failed
 * transiently, dead-letters what Elasticsearch refuses for good. A job completes only
 * when every document is indexed or dead-lettered; otherwise RetryLaterError.
 */
export class BulkIndexer {
  constructor(
    private readonly client: Client,
    private readonly options: IndexerOptions,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
    /** Elasticsearch echoes field values in rejection reasons: they pass through this. */
    private readonly clean: (text: string) => string = (text) => text,
  ) {}

  async index(requests: IndexRequest[], refused: DeadLetter[] = []): Promise<IndexReport> {
    const report = emptyReport();
    const dead = [...refused];
    let pending = requests;
    let lastReason = '';
    for (let attempt = 1; pending.length > 0 && attempt <= this.options.attemptsPerJob; attempt++) {
      if (attempt > 1) {
        report.retries += pending.length;
        await sleep(this.backoff(attempt - 1));
      }
      const retry: IndexRequest[] = [];
      for (const chunk of this.chunks(pending)) {
        const outcome = await this.send(chunk, attempt, report, dead);
        retry.push(...outcome.retry);
        if (outcome.reason) lastReason = outcome.reason;
      }
      pending = retry;
    }
    if (dead.length > 0) await this.deadLetter(dead, report);
    if (pending.length > 0) throw new RetryLaterError(pending.length, lastReason);
    return report;
  }

  private async send(chunk: IndexRequest[], attempt: number, report: IndexReport, dead: DeadLetter[]): Promise<{ retry: IndexRequest[]; reason?: string }> {
    let items: BulkItemResult[];
    try {
      // The operations go as the bytes written when the documents were made: nothing is
      // serialised twice. The answer is cut to what classifyItem reads, and when no item
      // failed it is not walked at all (nor parsed, by the worker's client: answer.ts):
      // parsing full answers (some 250 bytes an item) showed in the end-to-end profile.
      const res = await this.client.bulk({ operations: requestBody(chunk) as never, filter_path: BULK_ANSWER });
      if (!res.errors) {
        report.indexed += chunk.length;
        return { retry: [] };
      }
      items = res.items.map((i) => (i.create ?? i.index ?? Object.values(i)[0]) as BulkItemResult);
    } catch (err) {
      const c = classifyRequestError(err);
      this.logger.warn({ reason: c.reason, configProblem: c.configProblem, docs: chunk.length, attempt }, 'bulk request failed; will retry');
      return { retry: chunk, reason: c.reason };
    }
    const retry: IndexRequest[] = [];
    let reason: string | undefined;
    chunk.forEach((req, i) => {
      const outcome = classifyItem(items[i] ?? { status: 500, error: { type: 'missing_item', reason: 'no answer for this item' } });
      if (outcome.kind === 'indexed') outcome.duplicate ? report.duplicates++ : report.indexed++;
      else if (outcome.kind === 'retry') {
        retry.push(req);
        reason = this.clean(outcome.reason);
      } else
        dead.push({ id: req.id, targetIndex: req.index, json: documentJson(req), type: outcome.type, reason: this.clean(outcome.reason), attempts: attempt });
    });
    return { retry, reason };
  }

  private async deadLetter(dead: DeadLetter[], report: IndexReport): Promise<void> {
    const at = this.now();
    const index = deadLetterIndex(this.options.indexPrefix, at);
    const operations = dead.flatMap((d) => [
      { create: { _index: index, _id: d.id } },
      {
        '@timestamp': at.toISOString(),
        environment: this.options.environment,
        component: 'carbon',
        error: { type: d.type, message: d.reason },
        attempts: d.attempts,
        target_index: d.targetIndex,
        document_id: d.id,
        // Stored as text, not mapped: the document was refused for its shape.
        document: d.json,
      },
    ]);
    let res: Awaited<ReturnType<Client['bulk']>>;
    try {
      res = await this.client.bulk({ operations });
    } catch (err) {
      throw new RetryLaterError(dead.length, `dead-letter index unreachable: ${classifyRequestError(err).reason}`);
    }
    const failed = res.items.filter((i) => {
      const o = classifyItem((i.create ?? {}) as BulkItemResult);
      return o.kind !== 'indexed';
    });
    if (failed.length > 0) throw new RetryLaterError(failed.length, 'dead-letter index refused documents');
    report.deadLettered += dead.length;
    for (const d of dead) this.logger.warn({ id: d.id, index: d.targetIndex, type: d.type, reason: d.reason }, 'document dead-lettered');
  }

  private *chunks(requests: IndexRequest[]): Generator<IndexRequest[]> {
    let chunk: IndexRequest[] = [];
    let bytes = 0;
    for (const r of requests) {
      const size = r.to - r.from;
      if (chunk.length > 0 && bytes + size > this.options.maxBulkBytes) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(r);
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }

  private backoff(round: number): number {
    return jittered(backoffMs(round, this.options.baseDelayMs, this.options.maxDelayMs));
  }
}
