import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { batchRecords } from '../../src/worker/decode/chunk.js';
import { jobKey, readPayload } from '../../src/common/queue/payload.js';
import type { BatchJobData, LogRecord } from '../../src/common/queue/contract.js';
import { loadConfig, type Config } from '../../src/common/config/index.js';
import { cliFor } from './readable-cli.js';
import { services, waitFor, type uniqueNames } from './services.js';

/**
 * Stands in for the workers: records every batch that reaches the queue, so shipper
 * tests can check what arrived without Elasticsearch.
 */
export function recordingConsumer(queue: string, redisUrl = services.redisUrl) {
  const batches: BatchJobData[] = [];
  const payloads = new Map<BatchJobData, Buffer | null>();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  const worker = new Worker<BatchJobData>(
    queue,
    async (job) => {
      // The shipper attaches a job's bytes just after adding it: wait for them.
      const payload =
        job.data.kind === 'lines' ? await waitFor(() => readPayload(connection, jobKey(job.queueQualifiedName, job.id!)), 10_000, 'the job payload') : null;
      payloads.set(job.data, payload);
      batches.push(job.data);
    },
    { connection, concurrency: 4 },
  );
  worker.on('error', () => undefined);
  return {
    batches,
    /** Every record that arrived; carbon.log chunks as the events a worker makes of them. */
    records: () =>
      batches.flatMap((b) =>
        batchRecords(b, payloads.get(b) ?? null).map((r) => ({ ...r, kind: b.kind === 'lines' ? 'log' : b.kind, path: b.path, fileId: b.fileId })),
      ),
    /** The text of every carbon.log event that arrived, in arrival order. */
    logTexts: () =>
      batches.flatMap((b) => (b.kind === 'lines' || b.kind === 'log' ? (batchRecords(b, payloads.get(b) ?? null) as LogRecord[]).map((r) => r.text) : [])),
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}

export interface ShipperProcess {
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The real CLI `shipper` as its own OS process, on a test's queue, dirs and settings. */
export function startShipperProcess(
  names: ReturnType<typeof uniqueNames>,
  dir: string,
  shipperYaml: string,
  env: Record<string, string> = {},
): Promise<ShipperProcess> {
  return startCliProcess('shipper', names, dir, shipperYaml, env);
}

/** `tta-carbon <role>` (shipper, worker, run: shipper + worker, agent: shipper + scheduler) as its own OS process. */
export async function startCliProcess(
  role: 'shipper' | 'worker' | 'run' | 'agent',
  names: ReturnType<typeof uniqueNames>,
  dir: string,
  shipperYaml: string,
  env: Record<string, string> = {},
  /** Run as this user (the tests run as root, which reads any file). */
  as?: { uid: number; gid: number },
  /** A command it runs under (`unshare --pid --fork`, say). */
  wrap: string[] = [],
): Promise<ShipperProcess> {
  const configFile = join(dir, `${role}.yaml`);
  await writeFile(configFile, `redis:\n  queue: ${names.queue}\n${shipperYaml ? `shipper:\n${shipperYaml.replace(/^/gm, '  ')}\n` : ''}`);
  const cli = as ? cliFor(as) : { cwd: undefined, node: process.execPath };
  const argv = [...wrap, cli.node, 'bin/tta-carbon.js', '--config', configFile, role];
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: cli.cwd,
    env: {
      ...process.env,
      TTA_ENV: names.environment,
      TTA_LOG_DIR: join(dir, 'log'),
      TTA_DATA_DIR: join(dir, 'data'),
      REDIS_URL: services.redisUrl,
      ELASTICSEARCH_URL: services.elasticsearchUrl,
      TTA_METRICS_PORT: '0',
      CARBON_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-200_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-200_000)));
  const started = role === 'worker' ? 'worker started' : 'shipper started';
  await waitFor(() => out.includes(started) || child.exitCode !== null, 30_000, `tta-carbon ${role} to start`);
  if (child.exitCode !== null) throw new Error(`tta-carbon ${role} exited: ${out}`);
  return {
    child,
    output: () => out,
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      child.kill(signal);
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
  };
}

/**
 * Configuration for a Shipper in process following one carbon.log: batches go at once
 * (no linger, no multiline wait), polling every `pollIntervalMs`.
 */
export function oneLogConfig(dir: string, log: string, pollIntervalMs: number): Config {
  const config = loadConfig({ env: { TTA_LOG_DIR: dir, TTA_DATA_DIR: join(dir, 'data') } });
  config.shipper.inputs = [{ ...config.shipper.inputs[0]!, paths: [log] }];
  config.shipper.pollIntervalMs = pollIntervalMs;
  config.shipper.batch.lingerMs = 0;
  config.shipper.multiline.flushTimeoutMs = 0;
  return config;
}
