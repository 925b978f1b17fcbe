import type { FileHandle } from 'node:fs/promises';
import type { Logger } from '../common/logging/logger.js';
import type { BatchJobData, IdScheme } from '../common/queue/contract.js';
import type { MultilineOptions } from '../common/lines/boundary.js';
import type { FileIdentity } from '../common/registry/identity.js';
import type { Batcher } from './batcher.js';
import type { RecordBuilder } from './record-builder.js';
import type { BufferPool } from './lines/buffer-pool.js';
import type { Registry } from './registry.js';

// What a FileTailer is given, counts, and keeps per open file.

/** BatchQueue.add: the batch, the bytes beside it, and how to read a stale job's bytes again. */
export type Enqueue = (batch: BatchJobData, payload?: Buffer[], rebuild?: (queued: BatchJobData) => Promise<Buffer[]>) => Promise<number>;

export interface TailerOptions {
  kind: 'log' | 'csv';
  host: string;
  /** Where batches come from (contract v2): the shipper's environment and instance id. */
  environment: string;
  source: string;
  startAt: 'beginning' | 'end';
  followSymlinks: boolean;
  maxLineBytes: number;
  partialLineTimeoutMs: number;
  /** A rotated-away file is read until it has been quiet this long, then closed. */
  rotatedGraceMs: number;
  multiline: MultilineOptions & { flushTimeoutMs: number };
  batch: { maxRecords: number; maxBytes: number; lingerMs: number };
}

export interface TailerDeps {
  registry: Registry;
  /** Read buffers shared by all tailers. */
  buffers?: BufferPool;
  /** Resolves once Redis holds the batch, with the offset the queued job covers. */
  enqueue: Enqueue;
  logger: Logger;
  now: () => number;
}

export interface TailerCounters {
  linesRead: number;
  bytesRead: number;
  recordsEnqueued: number;
  batchesEnqueued: number;
  /** Lines cut at maxLineBytes. */
  linesTruncated: number;
}

export interface OpenFile {
  handle: FileHandle;
  /** Path the file had when opened; rotated files keep it for their documents. */
  path: string;
  id: FileIdentity;
  key: string;
  /** The ids its batches' documents get: those it was first read with (registry.ts). */
  ids?: IdScheme;
  /** Offset up to which Redis has everything; the registry holds the same. */
  committed: number;
  builder: RecordBuilder;
  batch: Batcher;
  lastGrowthAt: number;
  /** Size at the last stat: reads ask for no more than is there. */
  knownSize?: number;
  /** Set once the path names another file: read to the end, then close. */
  rotatedAt?: number;
}
