import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';
import { UnrecoverableError } from 'bullmq';
import { backoffMs as backoff } from '../common/backoff.js';
import { defaultIndexPrefix, ENVIRONMENT_NAME, type Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import type { BatchJobData } from '../common/queue/contract.js';
import { BulkIndexer } from './bulk/indexer.js';
import { RetryLaterError } from './errors.js';
import { installTemplates } from './template.js';

// How long an installed template is trusted before it is looked for again.
const TEMPLATE_CHECK_MS = 10_000;

export interface TargetDeps {
  elasticsearch: Client;
  logger: Logger;
  now: () => Date;
  /** The sanitizer's string cleaner, for what dead letters keep of a refused document. */
  clean: (text: string) => string;
}

/**
 * The environments a worker indexes for: one bulk indexer each, writing its own daily
 * indices and dead letters, and their index templates installed before the first
 * document (indexing without them would create indices with guessed mappings).
 */
export class Targets {
  /** One indexer per environment served. */
  private readonly indexers = new Map<string, BulkIndexer>();
  /** Index prefixes whose templates are installed → when that was last seen to hold. */
  private readonly templated = new Map<string, number>();

  constructor(
    private readonly config: Config,
    private readonly deps: TargetDeps,
  ) {}

  /**
   * Where a batch's documents go: under the environment of the shipper that read them
   * (contract v2), so one worker pool serves every environment on its queue and never
   * stamps its own on another's data; a v1 batch carries none and gets the worker's.
   */
  of(batch: Partial<BatchJobData>): { environment: string; indexPrefix: string; indexer: BulkIndexer } {
    const environment = batch.environment ?? this.config.environment;
    if (!ENVIRONMENT_NAME.test(environment))
      throw new UnrecoverableError(`the batch names environment ${JSON.stringify(environment.slice(0, 64))}, which is no valid environment name`);
    const indexPrefix = environment === this.config.environment ? this.config.elasticsearch.indexPrefix : defaultIndexPrefix(environment);
    let indexer = this.indexers.get(environment);
    if (!indexer) {
      indexer = new BulkIndexer(
        this.deps.elasticsearch,
        { indexPrefix, environment, attemptsPerJob: 5, baseDelayMs: 200, maxDelayMs: 5_000, maxBulkBytes: 5 * 1024 * 1024 },
        this.deps.logger,
        this.deps.now,
        this.deps.clean,
      );
      this.indexers.set(environment, indexer);
    }
    return { environment, indexPrefix, indexer };
  }

  /**
   * The templates of a batch's indices, installed before its first document, and looked
   * for again every TEMPLATE_CHECK_MS (one HEAD request): a template deleted by hand
   * would let the next index (the next day's, or today's deleted by hand too) be created
   * with guessed mappings (issue #34).
   */
  async ensureTemplates(indexPrefix: string): Promise<void> {
    const now = this.deps.now().getTime();
    const seen = this.templated.get(indexPrefix);
    if (seen !== undefined && now - seen < TEMPLATE_CHECK_MS) return;
    try {
      const { indices } = this.deps.elasticsearch;
      if (
        seen !== undefined &&
        (await indices.existsIndexTemplate({ name: indexPrefix })) &&
        (await indices.existsIndexTemplate({ name: `${indexPrefix}-deadletter` }))
      ) {
        this.templated.set(indexPrefix, now);
        return;
      }
      if (seen !== undefined) this.deps.logger.warn({ template: indexPrefix }, 'the index template is gone (deleted by hand?); installed again');
      await installTemplates(this.deps.elasticsearch, indexPrefix);
    } catch (err) {
      throw new RetryLaterError(0, `cannot install the index templates of ${indexPrefix}: ${(err as Error).message}`);
    }
    this.templated.set(indexPrefix, now);
  }

  /** The own environment's templates, retried until Elasticsearch answers or `stopped()` says to give up. */
  async installPatiently(stopped: () => boolean, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !stopped(); attempt++) {
      try {
        await installTemplates(this.deps.elasticsearch, this.config.elasticsearch.indexPrefix);
        this.templated.set(this.config.elasticsearch.indexPrefix, this.deps.now().getTime());
        return;
      } catch (err) {
        const delay = backoff(attempt, this.config.worker.backoffMs, this.config.worker.maxBackoffMs);
        this.deps.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot install index templates yet; waiting for Elasticsearch');
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }
}
