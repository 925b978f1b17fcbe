import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { record } from './lib/report.js';

// npm run bench:shipper [-- --mb 1024]
// The shipper process alone, file to Redis with offsets committed: a realistic
// carbon.log of the given size is shipped from the start; we time until the registry
// holds the file's size, and read the process's CPU time and peak RSS from /proc.

const MB = Number(process.argv[process.argv.indexOf('--mb') + 1]) || 1024;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const dir = join(services.dir, 'bench-shipper');
await rm(dir, { recursive: true, force: true });
await mkdir(join(dir, 'log'), { recursive: true });
const logFile = join(dir, 'log', 'carbon.log');

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

const queueName = `bench-shipper-${Date.now().toString(36)}`;
const configFile = join(dir, 'config.yaml');
// No workers here: the high-water mark is lifted so the backlog does not pause reading.
await writeFile(configFile, `redis:\n  queue: ${queueName}\nshipper:\n  highWaterMark: 10000000\n`);
const t0 = process.hrtime.bigint();
const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'shipper'], {
  env: { ...process.env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data'), REDIS_URL: services.redisUrl, CARBON_LOG_LEVEL: 'warn' },
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

// The file ends on a newline, so the registry reaches exactly `size`.
let last = await procStats(child.pid!);
while ((await committed()) < size) {
  last = await procStats(child.pid!);
  await sleep(100);
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
    `shipped from the start by the \`tta-carbon shipper\` process with default settings (batches of 1,000 records / 1 MiB) into a local Redis (AOF on); ` +
    `timed from process start until the registry holds the file's size. CPU seconds and peak RSS are the shipper process's own (/proc).`,
  [{
    'size MiB': size / 2 ** 20, lines, jobs, seconds, 'lines/s': lines / seconds, 'MB/s': size / 1e6 / seconds,
    'CPU s': last.cpuSec, 'lines per CPU-s': lines / last.cpuSec, 'peak RSS MB': last.peakRssMb,
  }],
);
