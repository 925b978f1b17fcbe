import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ensureCommand } from '../src/services/debian.js';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { filebeatConfig, findPeers, fluentBitConfig, PROXY_URL, proxyConfig } from './lib/peers.js';
import { procStats, servicePids } from './lib/proc.js';
import { record, type Row } from './lib/report.js';

// npm run bench:peers [-- --docs 677016 --rounds 2 --peers ../shared/peers]
// tta-carbon against Fluent Bit and Filebeat, side by side in one run: the same
// carbon.log, the same Elasticsearch, the same loopback proxy, default settings of each
// beyond what this log needs (lib/peers.ts has their configs). Each system starts with
// the file already there and is timed until Elasticsearch has indexed everything it
// will (its index count unchanged for QUIET_MS; the time is that of the last growth).
// Rounds alternate the order. A peer whose binary is missing is skipped, saying so.

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : dflt);
// Issue #18's file: 100 MB of carbon.log, 677,016 events. A smaller one weighs each
// process's start (module loading, connections) more than a day's log would.
const DOCS = Number(arg('--docs', '677016'));
const ROUNDS = Number(arg('--rounds', '2'));
const PEERS = resolve(arg('--peers', '../shared/peers'));
const QUIET_MS = 8_000;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const es = new Client({ node: services.elasticsearchUrl });
const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const pids = await servicePids(es, redis);
const dir = join(services.dir, 'bench-peers');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const tag = Date.now().toString(36);

const peers = findPeers(PEERS, dir);
for (const m of peers.missing) console.log(`[peers] skipped: ${m}`);
for (const pkg of ['libsqlite3-0', 'libssl3', 'libyaml-0-2']) {
  if (peers.fluentBit && spawnSync('dpkg', ['-s', pkg]).status !== 0)
    spawnSync('apt-get', ['install', '-y', '-q', pkg], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
const nginx = await ensureCommand('nginx', 'nginx-light');
if ('error' in nginx) throw new Error(nginx.error);
const proxy = spawn(nginx.path, ['-c', proxyConfig(PEERS, dir), '-g', 'daemon off;'], { stdio: 'inherit' });
for (
  let i = 0;
  i < 50 &&
  !(await fetch(`${PROXY_URL}/`).then(
    (r) => r.ok,
    () => false,
  ));
  i++
)
  await sleep(100);

// The corpus, once.
const staged = join(dir, 'carbon.log');
const out = createWriteStream(staged);
for (const text of carbonLogRecords(DOCS, 23)) if (!out.write(`${text}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
await new Promise<void>((r) => out.end(r));

async function indexed(prefix: string): Promise<number> {
  const stats = await es.indices.stats({ index: `${prefix}-*`, metric: 'indexing' }).catch(() => null);
  return stats?._all.primaries?.indexing?.index_total ?? 0;
}

async function drop(prefix: string): Promise<void> {
  const found = await es.indices.get({ index: `${prefix}-*`, allow_no_indices: true, ignore_unavailable: true });
  for (const index of Object.keys(found)) await es.indices.delete({ index });
  for (const name of [prefix, `${prefix}-deadletter`]) await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
}

interface System {
  name: string;
  start(runDir: string, file: string, prefix: string): { procs: ChildProcess[]; extraPids: number[]; cleanup?: () => Promise<void> };
}

const systems: System[] = [
  {
    name: 'tta-carbon run (shipper + worker)',
    start(runDir, file, prefix) {
      const env = prefix.replace(/^tta-/, '').replace(/-carbon$/, '');
      const queue = `bench-peers-${env}`;
      const config = join(runDir, 'tta.yaml');
      spawnSync('sh', ['-c', `printf 'redis:\\n  queue: ${queue}\\nshipper:\\n  inputs:\\n    - kind: log\\n      paths: [${file}]\\n' > '${config}'`]);
      const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', config, 'run'], {
        env: {
          ...process.env,
          TTA_ENV: env,
          TTA_LOG_DIR: runDir,
          TTA_DATA_DIR: join(runDir, 'data'),
          REDIS_URL: services.redisUrl,
          ELASTICSEARCH_URL: PROXY_URL,
          TTA_METRICS_PORT: '0',
          CARBON_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      return {
        procs: [child],
        extraPids: [pids.redis],
        cleanup: async () => {
          const q = new Queue(queue, { connection: redis });
          await q.obliterate({ force: true }).catch(() => undefined);
          await q.close();
        },
      };
    },
  },
  ...(peers.fluentBit
    ? [
        {
          name: 'Fluent Bit 5.1.1 (tail, multiline python, es)',
          start(runDir: string, file: string, prefix: string) {
            return {
              procs: [spawn(peers.fluentBit!, ['-c', fluentBitConfig(runDir, file, prefix)], { stdio: ['ignore', 'ignore', 'inherit'] })],
              extraPids: [],
            };
          },
        },
      ]
    : []),
  ...(peers.filebeat
    ? [
        {
          name: 'Filebeat 9.6.0 (filestream, multiline, ndjson)',
          start(runDir: string, file: string, prefix: string) {
            const child = spawn(peers.filebeat!, ['-e', '--strict.perms=false', '-c', filebeatConfig(runDir, file, prefix), '--path.home', runDir], {
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            return { procs: [child], extraPids: [] };
          },
        },
      ]
    : []),
];

let runs = 0;
async function measure(system: System, round: number): Promise<Row> {
  const run = ++runs;
  const prefix = `tta-benchpeer${tag}r${run}-carbon`;
  const runDir = join(dir, `run${run}`);
  await mkdir(runDir, { recursive: true });
  const file = join(runDir, 'carbon.log');
  spawnSync('cp', [staged, file]);
  const es0 = (await procStats(pids.elasticsearch)).cpuSec;
  const t0 = performance.now();
  const { procs, extraPids, cleanup } = system.start(runDir, file, prefix);
  const extra0 = await Promise.all(extraPids.map(async (p) => (await procStats(p)).cpuSec));
  let last = 0;
  let lastGrowth = t0;
  let peakRss = 0;
  let own = 0;
  while (performance.now() - lastGrowth < QUIET_MS && performance.now() - t0 < 900_000) {
    await sleep(200);
    const n = await indexed(prefix);
    const stats = await Promise.all(procs.map((p) => procStats(p.pid!).catch(() => ({ cpuSec: 0, peakRssMb: 0 }))));
    own = Math.max(
      own,
      stats.reduce((a, s) => a + s.cpuSec, 0),
    );
    peakRss = Math.max(peakRss, ...stats.map((s) => s.peakRssMb));
    if (n > last) {
      last = n;
      lastGrowth = performance.now();
    }
  }
  const seconds = (lastGrowth - t0) / 1000;
  const esCpu = (await procStats(pids.elasticsearch)).cpuSec - es0;
  const extra = (await Promise.all(extraPids.map(async (p, i) => (await procStats(p)).cpuSec - extra0[i]!))).reduce((a, b) => a + b, 0);
  for (const p of procs) {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
  }
  await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  const docs = (await es.count({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true })).count;
  await cleanup?.();
  await drop(prefix);
  await rm(runDir, { recursive: true, force: true });
  const cpu = own + extra;
  return {
    system: system.name,
    round,
    docs,
    seconds,
    'docs/s': docs / seconds,
    'own CPU s': cpu,
    'Elasticsearch CPU s': esCpu,
    'µs CPU/doc (own + ES)': ((cpu + esCpu) / docs) * 1e6,
    'peak RSS MB': peakRss,
    'docs/s vs Fluent Bit': '',
  };
}

const rows: Row[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? systems : [...systems].reverse();
  const mine: Row[] = [];
  for (const s of order) {
    console.log(`[peers] round ${round}: ${s.name}`);
    mine.push(await measure(s, round));
  }
  const fb = mine.find((r) => String(r.system).startsWith('Fluent Bit'));
  for (const r of mine) r['docs/s vs Fluent Bit'] = fb ? (r['docs/s'] as number) / (fb['docs/s'] as number) : 'no Fluent Bit';
  rows.push(...systems.map((s) => mine.find((r) => r.system === s.name)!));
}
proxy.kill('SIGTERM');
await redis.quit();
await es.close();
await rm(dir, { recursive: true, force: true });
if (!existsSync('BENCHMARKS.md')) await writeFile('BENCHMARKS.md', '# Benchmarks\n');
await record(
  'Peers: tta-carbon, Fluent Bit and Filebeat on the same file and Elasticsearch',
  `\`npm run bench:peers -- --docs ${DOCS} --rounds ${ROUNDS}\`: one realistic carbon.log of ${DOCS.toLocaleString('en-US')} events (text, JSON lines, ` +
    `tracebacks), copied in place before each system starts; every system writes through the same loopback nginx proxy (../shared/peers/es-proxy.nginx.conf) ` +
    `into daily indices of the same Elasticsearch. Timed from the start of the system's processes until its index count last grew (then ${QUIET_MS / 1000} s quiet). ` +
    `Configs: bench/lib/peers.ts (Fluent Bit: tail, built-in python multiline parser, json parser filter, es output; Filebeat: filestream, multiline pattern for ` +
    `tracebacks, ndjson parser; tta-carbon: \`run\` with defaults). "own CPU" is the system's processes (tta-carbon also Redis) during the run; docs differ ` +
    `where a peer joins lines otherwise (Fluent Bit's python parser starts a record at "Traceback", so a BASIC_FORMAT error line and its traceback are two). Rounds alternate the order.` +
    (peers.missing.length ? ` Skipped: ${peers.missing.join('; ')}.` : ''),
  rows,
);
