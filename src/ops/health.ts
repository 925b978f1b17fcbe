import { access, constants, lstat, readdir, stat } from 'node:fs/promises';
import { describeType } from '../common/fs/safe-open.js';
import { foreignRotations } from './foreign-logrotate.js';
import { otherShippers } from './other-shippers.js';
import { compileGlob, expandGlob, isLiteral } from '../common/fs/glob.js';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Config } from '../common/config/index.js';
import { systemClock, type Clock } from '../common/time/clock.js';
import { createElasticsearch } from '../common/elasticsearch/client.js';
import { safeUrl } from '../common/logging/logger.js';
import { createRedis, redisLabel } from '../common/redis/connection.js';
import { RegistryView } from '../common/registry/registry-view.js';

// `tta-carbon health`: the staging guide's health check, made to look at the pipeline.
// Each check is ok, degraded (⚠️, still exit 0) or failed (❌, exit 1) with a reason.

export type Status = 'ok' | 'degraded' | 'failed';
export interface Check {
  name: string;
  status: Status;
  detail: string;
}

const LAG_WARN_BYTES = 50 * 1024 * 1024;

export interface HealthOptions {
  /** Where logrotate's configuration and Filebeat's data are read (tests point elsewhere). */
  logrotateConfigs?: string[];
  filebeatData?: string;
  now?: Clock;
}

/**
 * Whether another rotator or shipper covers the inputs: needs no Redis, Elasticsearch
 * or running process, so the package's postinst can ask it at install time.
 */
export async function runOthersCheck(config: Config, options: HealthOptions = {}): Promise<Check[]> {
  const inputs = await inputPaths(config);
  return [await otherRotators(inputs, options.logrotateConfigs), await otherShippers(inputs, config.dataDir, options.filebeatData)];
}

export async function runHealth(config: Config, options: HealthOptions = {}): Promise<Check[]> {
  const now = options.now ?? systemClock;
  const checks: Check[] = [{ name: 'Configuration', status: 'ok', detail: 'Valid' }];
  checks.push(
    await outputDirectory(config),
    await carbonComponent(config, now),
    await codecarbonArriving(config, now),
    await inputTypes(config),
    ...(await runOthersCheck(config, options)),
  );
  const redis = createRedis(config.redis, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 3000 });
  let lastError = '';
  redis.on('error', (err) => (lastError = err.message));
  try {
    await redis.connect();
    await redis.ping();
    checks.push({ name: 'Redis', status: 'ok', detail: 'reachable' });
    checks.push(await queueState(config, redis));
  } catch (err) {
    checks.push({ name: 'Redis', status: 'failed', detail: `unreachable at ${redisLabel(config.redis)}: ${lastError || (err as Error).message}` });
  } finally {
    redis.disconnect();
  }
  checks.push(await elasticsearch(config), await shipperLag(config));
  return checks;
}

async function outputDirectory(config: Config): Promise<Check> {
  const name = 'Output directory writable';
  try {
    await access(config.codecarbonDir, constants.W_OK);
    return { name, status: 'ok', detail: config.codecarbonDir };
  } catch (err) {
    return { name, status: 'failed', detail: `${config.codecarbonDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/** The input files there are now, and each literal input path whether there or not. */
async function inputPaths(config: Config): Promise<string[]> {
  const paths: string[] = [];
  for (const glob of config.shipper.inputs.flatMap((i) => i.paths)) {
    const compiled = compileGlob(glob);
    paths.push(...(await expandGlob(compiled).catch(() => [] as string[])));
    if (isLiteral(compiled)) paths.push(glob);
  }
  return [...new Set(paths)];
}

/** The guide's logrotate file still rotating what tta-carbon rotates and ships. */
async function otherRotators(paths: string[], configs?: string[]): Promise<Check> {
  const name = 'Other rotators';
  const found = await foreignRotations(paths, configs);
  if (found.length === 0) return { name, status: 'ok', detail: 'no logrotate configuration covers the inputs' };
  const byFile = [...new Set(found.map((f) => f.file))].map(
    (file) => `${file} (${[...new Set(found.filter((f) => f.file === file).map((f) => f.path))].join(', ')})`,
  );
  return {
    name,
    status: 'degraded',
    detail: `logrotate also rotates inputs: ${byFile.join('; ')}; two rotators is a migration state: see README, "Moving from logrotate"`,
  };
}

/** What the shipper refuses to read (it logs and skips them), named here. */
async function inputTypes(config: Config): Promise<Check> {
  const name = 'Input files';
  const refused: string[] = [];
  for (const path of config.shipper.inputs.flatMap((i) => i.paths)) {
    for (const file of await expandGlob(compileGlob(path)).catch(() => [] as string[])) {
      const st = await lstat(file).catch(() => null);
      if (!st || st.isFile() || (st.isSymbolicLink() && config.shipper.followSymlinks && (await stat(file).catch(() => null))?.isFile())) continue;
      refused.push(`${file} is ${describeType(st)}`);
    }
  }
  if (refused.length === 0) return { name, status: 'ok', detail: 'every input path holds a regular file' };
  return { name, status: 'degraded', detail: `not read (only regular files are): ${refused.join('; ')}` };
}

async function carbonComponent(config: Config, now: Clock): Promise<Check> {
  const file = join(config.logDir, 'carbon.log');
  const st = await stat(file).catch(() => null);
  if (!st) return { name: 'Carbon component', status: 'degraded', detail: `${file} does not exist yet` };
  return { name: 'Carbon component', status: 'ok', detail: `OK (carbon.log last written ${ago(now() - st.mtimeMs)})` };
}

/** The guide's "codecarbon library: Available", seen from here: is its output arriving? */
async function codecarbonArriving(config: Config, now: Clock): Promise<Check> {
  const name = 'codecarbon output';
  const names = await readdir(config.codecarbonDir).catch(() => [] as string[]);
  let newest = 0;
  for (const n of names.filter((n) => /^emissions.*\.(json|csv)$/.test(n))) newest = Math.max(newest, (await stat(join(config.codecarbonDir, n))).mtimeMs);
  if (newest === 0) return { name, status: 'degraded', detail: `no emissions files in ${config.codecarbonDir}` };
  const limit = 2 * config.project.measurementIntervalSeconds * 1000;
  if (now() - newest > limit)
    return {
      name,
      status: 'degraded',
      detail: `newest emissions file written ${ago(now() - newest)} (measurement interval ${config.project.measurementIntervalSeconds} s)`,
    };
  return { name, status: 'ok', detail: `arriving (newest ${ago(now() - newest)})` };
}

async function queueState(config: Config, redis: ReturnType<typeof createRedis>): Promise<Check> {
  const queue = new Queue(config.redis.queue, { connection: redis });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const detail = `${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed, ${c.failed} failed`;
    const bad = (c.failed ?? 0) > 0 || (c.waiting ?? 0) >= config.shipper.highWaterMark;
    return { name: 'Queue', status: bad ? 'degraded' : 'ok', detail };
  } finally {
    await queue.close();
  }
}

async function elasticsearch(config: Config): Promise<Check> {
  const client = await createElasticsearch({ ...config.elasticsearch, requestTimeoutMs: 5000 });
  try {
    const health = await client.cluster.health();
    const template = await client.indices.existsIndexTemplate({ name: config.elasticsearch.indexPrefix });
    if (!template)
      return {
        name: 'Elasticsearch',
        status: 'degraded',
        detail: `cluster ${health.status}, index template ${config.elasticsearch.indexPrefix} not installed (start a worker)`,
      };
    return { name: 'Elasticsearch', status: health.status === 'red' ? 'degraded' : 'ok', detail: `cluster ${health.status}, index template installed` };
  } catch (err) {
    return { name: 'Elasticsearch', status: 'failed', detail: `unreachable at ${safeUrl(config.elasticsearch.url)}: ${(err as Error).message}` };
  } finally {
    await client.close();
  }
}

async function shipperLag(config: Config): Promise<Check> {
  const name = 'Shipper lag';
  let registry: RegistryView;
  try {
    registry = await RegistryView.open(config.dataDir);
  } catch (err) {
    return { name, status: 'failed', detail: (err as Error).message };
  }
  let lag = 0;
  let files = 0;
  for (const entry of registry.followed()) {
    const st = await stat(entry.path).catch(() => null);
    if (!st || st.ino !== entry.ino) continue;
    files++;
    lag += Math.max(0, st.size - entry.offset);
  }
  if (files === 0) return { name, status: 'degraded', detail: `no followed files in ${config.dataDir}/registry.json (is the shipper running here?)` };
  return { name, status: lag > LAG_WARN_BYTES ? 'degraded' : 'ok', detail: `${lag} bytes not shipped over ${files} file(s)` };
}

function ago(elapsedMs: number): string {
  const s = Math.round(elapsedMs / 1000);
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

export function formatChecks(checks: Check[]): string {
  const icon = { ok: '✅', degraded: '⚠️', failed: '❌' } as const;
  return checks.map((c) => `${icon[c.status]} ${c.name}: ${c.detail}`).join('\n');
}
