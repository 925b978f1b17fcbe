import { Queue } from 'bullmq';
import logUpdate from 'log-update';
import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import { createRedis } from '../../common/redis/connection.js';
import { readStatus, type Snapshot, type StatusSources } from '../../ops/status.js';
import { renderStatus } from '../../ops/status-view.js';

// `tta-carbon status`: a live view, redrawn in place every interval (log-update), until
// Ctrl-C; `--once` prints one view (rates over one interval), `--json` one snapshot.

export interface StatusOptions {
  once?: boolean;
  json?: boolean;
  interval: string;
}

// A minute of snapshots: enough for the last minute's dead letters and failures.
const KEEP_MS = 65_000;

export async function statusCommand(config: Config, opts: StatusOptions): Promise<number> {
  const intervalMs = Number(opts.interval) * 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 200) {
    console.error(`tta-carbon status: --interval ${JSON.stringify(opts.interval)}: expected seconds, 0.2 or more`);
    return 2;
  }
  const redis = createRedis(config.redis, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  const queue = new Queue(config.redis.queue, { connection: redis });
  const elasticsearch = await createElasticsearch(config.elasticsearch);
  const host = config.metrics.host === '0.0.0.0' || config.metrics.host === '::' ? '127.0.0.1' : config.metrics.host;
  const sources: StatusSources = {
    metricsUrl: `http://${host.includes(':') ? `[${host}]` : host}:${config.metrics.port}/metrics`,
    queue,
    redis,
    elasticsearch,
    indexPrefix: config.elasticsearch.indexPrefix,
    now: Date.now,
  };
  const view = (history: Snapshot[]) =>
    renderStatus(history, {
      environment: config.environment,
      queue: config.redis.queue,
      width: process.stdout.columns ?? 80,
      clock: (ms) => new Date(ms).toTimeString().slice(0, 8),
    });
  try {
    if (opts.json) {
      console.log(JSON.stringify(await readStatus(sources), null, 2));
      return 0;
    }
    const history: Snapshot[] = [await readStatus(sources)];
    if (opts.once) {
      await sleep(intervalMs);
      history.push(await readStatus(sources));
      console.log(view(history));
      return 0;
    }
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    while (!stopped) {
      logUpdate(view(history));
      await sleep(intervalMs, () => stopped);
      if (stopped) break;
      history.push(await readStatus(sources));
      while (history.length > 2 && history.at(-1)!.at - history[0]!.at > KEEP_MS) history.shift();
    }
    logUpdate.done();
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
    await elasticsearch.close();
  }
}

/** Waits `ms`, or less once `cancelled` says so (checked every 100 ms). */
async function sleep(ms: number, cancelled: () => boolean = () => false): Promise<void> {
  const end = Date.now() + ms;
  while (!cancelled() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
