import type { Redis } from 'ioredis';
import type { IndexRequest } from '../bulk/indexer.js';

// Every version of a codecarbon run must go to one index: daily indices follow the
// event's time, and a run whose flushes (or whose CSV row and BoAmps report) fall on
// both sides of midnight would otherwise be two documents, counted twice. The first
// version to reach any worker pins the run to its index, atomically (SET NX GET), and
// later versions follow the pin. Pins outlive retention by a day, then expire.

/** The request of a codecarbon run's document. */
export type RunIndexRequest = IndexRequest & { runId: string };

export class RunIndexPins {
  constructor(
    private readonly redis: Redis,
    /** Namespaces the pins by queue, as BullMQ does its own keys. */
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Points each run's request at its run's pinned index, in place. The runs are given
   * apart (batch.ts), not looked for among every request of a slice: that filter showed
   * in worker profiles, for slices that mostly hold none.
   */
  async pin(environment: string, runs: readonly RunIndexRequest[]): Promise<void> {
    if (runs.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const r of runs) pipeline.call('SET', `${this.keyPrefix}:run-index:${environment}:${r.runId}`, r.index, 'EX', String(this.ttlSeconds), 'NX', 'GET');
    const answers = (await pipeline.exec()) ?? [];
    answers.forEach(([err, pinned], i) => {
      if (err) throw err;
      if (typeof pinned === 'string') runs[i]!.index = pinned;
    });
  }
}
