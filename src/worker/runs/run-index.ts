import type { Redis } from 'ioredis';
import type { IndexRequest } from '../bulk/indexer.js';

// Every version of a codecarbon run must go to one index: daily indices follow the
// event's time, and a run whose flushes (or whose CSV row and BoAmps report) fall on
// both sides of midnight would otherwise be two documents, counted twice. The first
// version to reach any worker pins the run to its index, atomically (SET NX GET), and
// later versions follow the pin. Pins outlive retention by a day, then expire.

export class RunIndexPins {
  constructor(
    private readonly redis: Redis,
    /** Namespaces the pins by queue, as BullMQ does its own keys. */
    private readonly keyPrefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Points every run document of `requests` at its run's pinned index, in place. */
  async pin(environment: string, requests: IndexRequest[]): Promise<void> {
    const runs = requests.filter((r): r is IndexRequest & { runId: string } => r.runId !== undefined);
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
