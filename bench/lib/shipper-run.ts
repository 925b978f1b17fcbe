import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { procStats } from './proc.js';
import { unitNodeOptions } from './report.js';

// One shipper measurement: files written in a staging directory (not timed), an idle
// `tta-carbon shipper` (NODE_OPTIONS of its systemd unit) on an empty log directory,
// the files renamed in, timed until the registry holds every file's size. CPU time and
// peak RSS are the process's own (/proc); start-up CPU is counted apart.

export interface ShipperRun {
  lines: number;
  bytes: number;
  jobs: number;
  seconds: number;
  startupCpuSec: number;
  shippingCpuSec: number;
  peakRssMb: number;
  nodeOptions: string;
}

/** Writes `lines` (each without its newline) to `path`. */
export async function writeLines(path: string, lines: Iterable<string>): Promise<number> {
  const out = createWriteStream(path);
  let count = 0;
  for (const line of lines) {
    count += line.split('\n').length;
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return count;
}

/**
 * `stage(dir)` writes the files into `dir` and returns how many lines they hold; they
 * are then shipped from `<work>/log`, matched by `<work>/log/*.log`.
 */
export async function runShipper(work: string, redisUrl: string, stage: (dir: string) => Promise<number>): Promise<ShipperRun> {
  await rm(work, { recursive: true, force: true });
  const staging = join(work, 'staging');
  const logDir = join(work, 'log');
  await mkdir(staging, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const lines = await stage(staging);
  const files = await readdir(staging);
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(staging, f))).size;
  // Written pages reach the disk before the clock starts, not while it runs.
  spawnSync('sync');

  const queueName = `bench-shipper-${Date.now().toString(36)}`;
  const configFile = join(work, 'config.yaml');
  // No workers here: the high-water mark is lifted so the backlog does not pause reading.
  await writeFile(
    configFile,
    `redis:\n  queue: ${queueName}\nshipper:\n  highWaterMark: 10000000\n  inputs:\n    - kind: log\n      paths: [${logDir}/*.log]\n`,
  );
  const nodeOptions = await unitNodeOptions('tta-staging-carbon.service');
  const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'shipper'], {
    env: { ...process.env, TTA_LOG_DIR: logDir, TTA_DATA_DIR: join(work, 'data'), REDIS_URL: redisUrl, CARBON_LOG_LEVEL: 'warn', NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const committed = async (): Promise<number> => {
    try {
      const reg = JSON.parse(await readFile(join(work, 'data', 'registry.json'), 'utf8'));
      return Object.values(reg.entries as Record<string, { offset: number }>).reduce((n, e) => n + e.offset, 0);
    } catch {
      return 0;
    }
  };

  // Idle: started, connected, and its CPU clock no longer moving.
  let startup = await procStats(child.pid!);
  for (let settled = 0; settled < 5; ) {
    await sleep(200);
    const now = await procStats(child.pid!);
    settled = now.cpuSec === startup.cpuSec ? settled + 1 : 0;
    startup = now;
  }
  for (const f of files) await rename(join(staging, f), join(logDir, f));
  const t0 = process.hrtime.bigint();
  // Files end on a newline, so the registry reaches exactly their sizes.
  let last = startup;
  while ((await committed()) < bytes) {
    last = await procStats(child.pid!);
    await sleep(20);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  last = await procStats(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  const jobs = await queue.getWaitingCount();
  await queue.obliterate({ force: true });
  await queue.close();
  await connection.quit();
  await rm(work, { recursive: true, force: true });
  return {
    lines,
    bytes,
    jobs,
    seconds,
    startupCpuSec: startup.cpuSec,
    shippingCpuSec: last.cpuSec - startup.cpuSec,
    peakRssMb: last.peakRssMb,
    nodeOptions,
  };
}
