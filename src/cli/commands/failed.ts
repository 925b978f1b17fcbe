import { createInterface } from 'node:readline/promises';
import { Queue } from 'bullmq';
import type { Config } from '../../common/config/index.js';
import type { BatchJobData } from '../../common/queue/contract.js';
import { createRedis, redisLabel } from '../../common/redis/connection.js';
import { dropFailed, type FailedBatch, listFailed, NotFailedError, retryFailed } from '../../ops/failed-batches.js';
import { cleanerFor } from '../runtime.js';

// `tta-carbon failed list|retry|drop`: BullMQ's failed set without redis-cli. Exit
// codes as the other commands: 0 done, 1 a batch not found or Redis unreachable,
// 2 bad usage (drop without confirmation where none can be asked for).

export interface FailedOptions {
  json?: boolean;
  all?: boolean;
  yes?: boolean;
}

type Action = 'list' | 'retry' | 'drop';

export async function failedCommand(config: Config, action: Action, opts: FailedOptions, id?: string): Promise<number> {
  if (action === 'retry' && !id === !opts.all) {
    console.error('tta-carbon failed retry: name one batch (ID) or --all');
    return 2;
  }
  const redis = createRedis(config.redis, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  redis.on('error', () => undefined);
  const queue = new Queue<BatchJobData>(config.redis.queue, { connection: redis });
  try {
    // A failure's reason may echo what the batch held: cleaned as the processes' own logs are.
    const clean = cleanerFor(config) ?? ((t: string) => t);
    if (action === 'list')
      return list(
        (await listFailed(queue)).map((b) => ({ ...b, reason: clean(b.reason) })),
        opts.json === true,
      );
    if (action === 'retry') {
      const retried = await retryFailed(queue, opts.all ? 'all' : [id!]);
      for (const r of retried) console.log(`retrying ${r}`);
      console.log(`${retried.length} failed batch(es) back in the queue ${JSON.stringify(config.redis.queue)}`);
      return 0;
    }
    if (!opts.yes && !(await confirm(`drop failed batch ${id}? Its records will not be indexed. [y/N] `))) {
      console.error(process.stdin.isTTY ? 'not dropped' : 'tta-carbon failed drop: not a terminal to ask on; confirm with --yes');
      return process.stdin.isTTY ? 1 : 2;
    }
    const dropped = await dropFailed(queue, id!);
    console.log(`dropped ${dropped.id} (${dropped.records} record(s) of ${dropped.host}:${dropped.path} from offset ${dropped.offset ?? '?'})`);
    return 0;
  } catch (err) {
    if (err instanceof NotFailedError) console.error(`tta-carbon failed ${action}: ${err.message}`);
    else console.error(`tta-carbon failed ${action}: ${(err as Error).message} (Redis at ${redisLabel(config.redis)})`);
    return 1;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

function list(batches: FailedBatch[], json: boolean): number {
  if (json) console.log(JSON.stringify(batches, null, 2));
  else {
    for (const b of batches)
      console.log(
        `${b.failedAt}  ${b.id}  ${b.host}:${b.path} @${b.offset ?? '?'} (${b.records} records, ${b.attempts} attempts)  ${b.reason.replace(/\s+/g, ' ')}`,
      );
    console.log(`${batches.length} failed batch(es)`);
  }
  return 0;
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
