import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { servicesEnv } from '../../src/services/launcher.js';

export const services = servicesEnv();

/** Names no other test uses: a queue, an environment and its index prefix. */
export function uniqueNames(label: string) {
  const suffix = `${label}-${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9-]/g, '');
  const environment = `t${suffix}`;
  return { queue: `q-${suffix}`, environment, indexPrefix: `tta-${environment}-carbon` };
}

export function esClient(own: { Serializer?: NonNullable<ConstructorParameters<typeof Client>[0]>['Serializer'] } = {}): Client {
  return new Client({ node: services.elasticsearchUrl, ...own });
}

export function redisClient(): Redis {
  return new Redis(services.redisUrl, { maxRetriesPerRequest: null });
}

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tta-${label}-`));
}

/** Polls `check` until it returns a truthy value or the timeout passes; returns the value. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs: number, what: string, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** Removes a test's indices, templates and queue. */
export async function cleanup(names: { queue: string; indexPrefix: string }, dirs: string[] = []): Promise<void> {
  const es = esClient();
  // Wildcard deletes are refused (action.destructive_requires_name): resolve names first.
  const found = await es.indices.get({ index: `${names.indexPrefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => ({}));
  const indices = Object.keys(found);
  if (indices.length) await es.indices.delete({ index: indices }).catch(() => undefined);
  for (const name of [names.indexPrefix, `${names.indexPrefix}-deadletter`]) {
    await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
  }
  await es.close();
  const connection = redisClient();
  const queue = new Queue(names.queue, { connection });
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await connection.quit();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}

/** Every document of an index pattern, after a refresh. */
export async function allDocs(pattern: string): Promise<{ _id: string; _index: string; _source: Record<string, any> }[]> {
  const es = esClient();
  try {
    await es.indices.refresh({ index: pattern, ignore_unavailable: true, allow_no_indices: true });
    const res = await es.search({ index: pattern, size: 10_000, query: { match_all: {} }, ignore_unavailable: true, allow_no_indices: true });
    return res.hits.hits as any;
  } finally {
    await es.close();
  }
}

/** How many documents of an index pattern match `query`, after a refresh. */
export async function countDocs(pattern: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  const es = esClient();
  try {
    await es.indices.refresh({ index: pattern, ignore_unavailable: true, allow_no_indices: true });
    return (await es.count({ index: pattern, query, ignore_unavailable: true, allow_no_indices: true })).count;
  } finally {
    await es.close();
  }
}

export { freePort } from '../../src/services/process.js';
