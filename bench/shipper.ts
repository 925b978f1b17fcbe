import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { record, unitNodeOptions } from './lib/report.js';

// npm run bench:shipper [-- --mb 512]
// The shipper process alone, file to Redis with offsets committed. The shipper starts
// on an empty log directory; once it is idle, a realistic carbon.log of the given size
// (written beforehand, not timed) is renamed into place, and we time until the registry
// holds the file's size. CPU time and peak RSS are the process's own (/proc), with the
// CPU spent starting up (loading modules, connecting) reported apart.

const MB = Number(process.argv[process.argv.indexOf('--mb') + 1]) || 512;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const dir = join(services.dir, 'bench-shipper');
await rm(dir, { recursive: true, force: true });
await mkdir(join(dir, 'log'), { recursive: true });
await mkdir(join(dir, 'staging'), { recursive: true });
const logFile = join(dir, 'staging', 'carbon.log');

// The corpus file, written once per run (not timed).
let lines = 0;
const out = createWriteStream(logFile);
let written = 0;
for (const rec of carbonLogRecords(Number.MAX_SAFE_INTEGER, 7)) {
  const line = `${rec}\n`;
  written += Buffer.byteLength(line);
  lines += line.split('\n').length - 1;
  if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  if (written >= MB * 1024 * 1024) break;
}
await new Promise<void>((r) => out.end(r));
const size = (await stat(logFile)).size;
// Written pages reach the disk before the clock starts, not while it runs.
spawnSync('sync');

const queueName = `bench-shipper-${Date.now().toString(36)}`;
const configFile = join(dir, 'config.yaml');
// No workers here: the high-water mark is lifted so the backlog does not pause reading.
await writeFile(configFile, `redis:\n  queue: ${queueName}\nshipper:\n  highWaterMark: 10000000\n`);
// The shipper runs as the shipped unit runs it: same NODE_OPTIONS (one source of truth).
const nodeOptions = await unitNodeOptions('tta-staging-carbon.service');
const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'shipper'], {
  env: { ...process.env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data'), REDIS_URL: services.redisUrl, CARBON_LOG_LEVEL: 'warn', NODE_OPTIONS: nodeOptions },
  stdio: ['ignore', 'ignore', 'inherit'],
});

async function committed(): Promise<number> {
  try {
    const reg = JSON.parse(await readFile(join(dir, 'data', 'registry.json'), 'utf8'));
    return Math.max(0, ...Object.values(reg.entries as Record<string, { offset: number }>).map((e) => e.offset));
  } catch {
    return 0;
  }
}

async function procStats(pid: number): Promise<{ cpuSec: number; peakRssMb: number }> {
  const st = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { cpuSec: (Number(st[11]) + Number(st[12])) / 100, peakRssMb: Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024 };
}

// Idle: started, connected, and its CPU clock no longer moving.
let startup = await procStats(child.pid!);
for (let settled = 0; settled < 5; ) {
  await sleep(200);
  const now = await procStats(child.pid!);
  settled = now.cpuSec === startup.cpuSec ? settled + 1 : 0;
  startup = now;
}
await rename(logFile, join(dir, 'log', 'carbon.log'));
const t0 = process.hrtime.bigint();
// The file ends on a newline, so the registry reaches exactly `size`.
let last = startup;
while ((await committed()) < size) {
  last = await procStats(child.pid!);
  await sleep(20);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
last = await procStats(child.pid!);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));

const connection = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(queueName, { connection });
const jobs = await queue.getWaitingCount();
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
await rm(dir, { recursive: true, force: true });

await record(
  'Shipper: carbon.log to Redis',
  `\`npm run bench:shipper -- --mb ${MB}\`: a ${(size / 2 ** 20).toFixed(0)} MiB realistic carbon.log (${lines.toLocaleString('en-US')} lines; logging text, JSON lines, 5 % five-line tracebacks) ` +
    `moved into the log directory of an idle \`tta-carbon shipper\` process (default settings: 1 MiB batches; NODE_OPTIONS \`${nodeOptions}\` as in the systemd unit) and shipped into a local Redis (AOF on); ` +
    `timed from the move until the registry holds the file's size. CPU seconds and peak RSS are the shipper process's own (/proc); ` +
    `start-up CPU (module loading, connecting) is counted apart, as the time a C shipper's start would take is not in its per-line figure either.`,
  [{
    'size MiB': size / 2 ** 20, lines, jobs, seconds, 'lines/s': lines / seconds, 'MB/s': size / 1e6 / seconds,
    'start-up CPU s': startup.cpuSec, 'shipping CPU s': last.cpuSec - startup.cpuSec,
    'lines per CPU-s': lines / (last.cpuSec - startup.cpuSec), 'peak RSS MB': last.peakRssMb,
  }],
);
