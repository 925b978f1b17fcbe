import type { Logger } from '../common/logging/logger.js';
import type { RedisMemory } from '../common/queue/queue.js';
import type { Registry } from './registry.js';
import type { Enqueue } from './tailer.js';

// What a Shipper is given, and the input trouble it reports.

export interface ShipperDeps {
  registry: Registry;
  /** This shipper's instance id (shipper/instance.ts): part of every job and document id. */
  source: string;
  enqueue: Enqueue;
  /** Batches waiting in the queue; reading stops above the high-water mark. */
  backlog: () => Promise<number>;
  /** Redis's memory against its maxmemory; reading stops near it. */
  redisMemory?: () => Promise<RedisMemory | null>;
  /** False while Redis is unreachable: reading stops, offsets stay put. */
  redisReady: () => boolean;
  logger: Logger;
  now?: () => number;
}

export interface ShipperStats {
  linesRead: number;
  bytesRead: number;
  recordsEnqueued: number;
  batchesEnqueued: number;
  /** By the kind label of tta_carbon_input_problems_total. */
  problems: Record<'unreadable' | 'registry_write' | 'refused' | 'invalid_report' | 'line_truncated', number>;
  /** By the reason label of tta_carbon_enqueue_failures_total. */
  enqueueFailures: Record<'redis' | 'redis_full' | 'given_up' | 'job_gone', number>;
}
