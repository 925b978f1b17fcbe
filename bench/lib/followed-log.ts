import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

// A benchmark's own empty carbon.log in a fresh directory, with an environment, index
// prefix, queue and config file no other run uses: what tta-carbon processes follow.

export interface FollowedLog {
  dir: string;
  logDir: string;
  logFile: string;
  env: string;
  prefix: string;
  queueName: string;
  configFile: string;
}

export async function followedLog(servicesDir: string, label: string): Promise<FollowedLog> {
  const dir = join(servicesDir, `bench-${label}`);
  await rm(dir, { recursive: true, force: true });
  const logDir = join(dir, 'log');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, 'carbon.log');
  writeFileSync(logFile, '');
  const env = `bench${label}${Date.now().toString(36)}`;
  const queueName = `bench-${label}-${env}`;
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, `redis:\n  queue: ${queueName}\n`);
  return { dir, logDir, logFile, env, prefix: `tta-${env}-carbon`, queueName, configFile };
}

/** The environment of a `tta-carbon run` that follows this log against these services. */
export function runEnv(log: FollowedLog, services: { redisUrl: string; elasticsearchUrl: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TTA_ENV: log.env,
    TTA_LOG_DIR: log.logDir,
    TTA_DATA_DIR: join(log.dir, 'data'),
    REDIS_URL: services.redisUrl,
    ELASTICSEARCH_URL: services.elasticsearchUrl,
    TTA_METRICS_PORT: '0',
    CARBON_LOG_LEVEL: 'warn',
  };
}

/** Removes what a run left: its indices, its templates, its queue, its directory. */
export async function removeFollowedLog(log: FollowedLog, es: Client, redisUrl: string): Promise<void> {
  for (const index of Object.keys(await es.indices.get({ index: `${log.prefix}-*`, allow_no_indices: true }))) await es.indices.delete({ index });
  for (const name of [log.prefix, `${log.prefix}-deadletter`]) await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(log.queueName, { connection: redis });
  await queue.obliterate({ force: true });
  await queue.close();
  await redis.quit();
  await rm(log.dir, { recursive: true, force: true });
}
