import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BATCH_JOB, CONTRACT_VERSION, type BatchJobData } from '../src/common/queue/contract.js';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { record, type Row } from './lib/report.js';

// npm run bench:takeover [-- --kills 20]
// Worker takeover after kill -9 (issue #34): a real `tta-carbon worker` on host-a takes
// batches as they come; at a random moment while it holds some it is killed with -9,
// and then restarted on the same host, restarted as another host (own host name and
// data dir), not restarted (a worker on host-b is running), or left a zombie by a
// parent that never reaps it (host-b running), or restarted in place as a container is
// (a PID namespace of its own: pid 1 again, the same host name; as root). Takeover = kill until every batch it
// held is completed by a worker. At the end every event is counted: lost and
// duplicated are measured, not assumed.

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const KILLS = arg('--kills', 20);
const LINES = 1_000;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const tag = Date.now().toString(36);
const environment = `benchtakeover${tag}`;
const prefix = `tta-${environment}-carbon`;
const queueName = `bench-takeover-${tag}`;
const dir = await mkdtemp(join(tmpdir(), 'tta-bench-takeover-'));
const configFile = join(dir, 'config.yaml');
await writeFile(configFile, `redis:\n  queue: ${queueName}\nworker:\n  concurrency: 2\n`);
const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue<BatchJobData>(queueName, { connection: redis });
const es = new Client({ node: services.elasticsearchUrl });

const env = (host: string): NodeJS.ProcessEnv => ({
  ...process.env,
  TTA_ENV: environment,
  TTA_HOST_NAME: host,
  TTA_DATA_DIR: join(dir, host),
  REDIS_URL: services.redisUrl,
  ELASTICSEARCH_URL: services.elasticsearchUrl,
  TTA_METRICS_PORT: '0',
  CARBON_LOG_LEVEL: 'warn',
});
const workerArgs = ['bin/tta-carbon.js', '--config', configFile, 'worker'];

// Every process started, killed when the benchmark ends however it ends: a run that
// failed halfway left workers running.
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Started {
  child: ChildProcess;
  pid: () => Promise<number>;
}
type Mode = 'plain' | 'zombie parent' | 'in place';
function startWorker(host: string, mode: Mode = 'plain'): Started {
  if (mode === 'in place') {
    const child = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, ...workerArgs], { env: env(host), stdio: 'ignore' });
    children.push(child);
    // The namespace's pid 1 as we see it: unshare's only child, once it has forked.
    const pid = until(
      async () => (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '')).trim() !== '',
      10_000,
      'unshare to fork',
    ).then(async () => Number((await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim()));
    return { child, pid: () => pid };
  }
  if (mode === 'plain') {
    const child = spawn(process.execPath, workerArgs, { env: env(host), stdio: 'ignore' });
    children.push(child);
    return { child, pid: async () => child.pid! };
  }
  // Python's Popen reaps only when asked: the killed worker stays <defunct>.
  const child = spawn(
    'python3',
    ['-c', 'import subprocess, sys, time\np = subprocess.Popen(sys.argv[1:])\nprint(p.pid, flush=True)\ntime.sleep(3600)', process.execPath, ...workerArgs],
    {
      env: env(host),
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.push(child);
  const pid = new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  // The worker under python is no child of ours: killed by its pid.
  void pid.then((p) =>
    process.on('exit', () => {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }),
  );
  return { child, pid: () => pid };
}

/** SIGTERM to the worker (and its zombie-keeping parent, whose end lets init reap it). */
async function stopWorker(w: Started): Promise<void> {
  const pid = await w.pid();
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    if (w.child.pid !== pid) break; // a zombie under python: its parent's end reaps it
    await sleep(50);
  }
  w.child.kill('SIGKILL');
}

let seq = 0;
let batches = 0;
async function feed(n: number): Promise<void> {
  for (let b = 0; b < n; b++) {
    const records = Array.from({ length: LINES }, (_, i) => {
      const s = seq++;
      return { offset: i * 200, text: `{"timestamp":"${new Date().toISOString()}","level":"info","message":"takeover ${s}","seq":${s}}` };
    });
    const id = `takeover-${tag}-${batches++}`;
    await queue.add(
      BATCH_JOB,
      { v: CONTRACT_VERSION, kind: 'log', host: 'bench', path: '/bench/carbon.log', fileId: id, endOffset: LINES * 200, records },
      { jobId: `${id}_0` },
    );
  }
}

async function heldBy(prefixOfName: string): Promise<string[]> {
  return (await queue.getActive()).filter((j) => j.processedBy?.startsWith(prefixOfName)).map((j) => j.id!);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const KINDS = [
  'restarted on the same host',
  'restarted on another host',
  'not restarted (host-b running)',
  'left a zombie (host-b running)',
  'restarted in place (pid 1 again, same host name)',
] as const;
const modeOf = (kind: (typeof KINDS)[number]): Mode =>
  kind.startsWith('left a zombie') ? 'zombie parent' : kind.startsWith('restarted in place') ? 'in place' : 'plain';
const rows: Row[] = [];
let other: Started | null = null;
for (const kind of KINDS) {
  if (modeOf(kind) === 'in place' && process.getuid?.() !== 0) {
    console.log(`${kind}: left out, a PID namespace of its own takes root`);
    continue;
  }
  const secs: number[] = [];
  const withOther = kind.includes('host-b');
  if (withOther && !other) other = startWorker('host-b');
  if (!withOther && other) {
    await stopWorker(other);
    other = null;
  }
  let victim = startWorker('host-a', modeOf(kind));
  for (let k = 0; k < KILLS; k++) {
    // Fed until host-a holds some (host-b, when running, takes its share too).
    await until(
      async () => {
        if ((await heldBy('host-a:')).length > 0) return true;
        if ((await queue.getWaitingCount()) < 4) await feed(4);
        return false;
      },
      60_000,
      'host-a to hold a batch',
    );
    await sleep(Math.random() * 300);
    const held = await heldBy('host-a:');
    if (held.length === 0) {
      k--;
      continue;
    }
    process.kill(await victim.pid(), 'SIGKILL');
    const killed = Date.now();
    // A batch finished between the look and the kill was not held: not a takeover.
    const finished = new Set(
      (await Promise.all(held.map((id) => queue.getJob(id)))).filter((j) => j?.finishedOn !== undefined && j.finishedOn <= killed).map((j) => j!.id),
    );
    held.splice(0, held.length, ...held.filter((id) => !finished.has(id)));
    if (kind === 'restarted on the same host') victim = startWorker('host-a');
    else if (modeOf(kind) === 'in place') victim = startWorker('host-a', 'in place');
    else if (kind === 'restarted on another host') victim = startWorker(`host-c${k}`);
    await until(
      async () => (await Promise.all(held.map((id) => queue.getJob(id)))).every((j) => j?.finishedOn !== undefined),
      120_000,
      'the held batches completed',
    );
    // A round whose batches all finished before the kill counts for nothing, and is done again.
    if (held.length === 0) k--;
    else secs.push((Date.now() - killed) / 1000);
    if (held.length > 0) console.log(`${kind}: kill ${k + 1}, ${held.length} batch(es) held, all completed ${secs.at(-1)!.toFixed(2)} s after the kill`);
    await until(
      async () => (await queue.getWaitingCount()) + (await queue.getActiveCount()) === 0 || kind.startsWith('not') || kind.startsWith('left'),
      120_000,
      'the queue drained',
    );
    // The next kill needs a host-a worker again.
    if (kind.startsWith('not') || kind.startsWith('left') || kind === 'restarted on another host') {
      await stopWorker(victim);
      victim = startWorker('host-a', modeOf(kind));
    }
  }
  await until(
    async () => (await queue.getWaitingCount()) + (await queue.getActiveCount()) + (await queue.getDelayedCount()) === 0,
    120_000,
    'the queue drained',
  );
  await stopWorker(victim);
  const sorted = [...secs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  rows.push({
    'killed worker': kind,
    kills: secs.length,
    'p50 s': Number(q(0.5).toFixed(2)),
    'p99 s': Number(q(0.99).toFixed(2)),
    'max s': Number(sorted.at(-1)!.toFixed(2)),
  });
}
if (other) await stopWorker(other);

await es.indices.refresh({ index: `${prefix}-2*` });
const indexed = (await es.count({ index: `${prefix}-2*` })).count;
// Every seq once, checked exactly: each seq a bucket of one document, and n buckets.
let buckets = 0;
let notOnce = 0;
let after: Record<string, number> | undefined;
for (;;) {
  const page = await es.search({
    index: `${prefix}-2*`,
    size: 0,
    aggs: { s: { composite: { size: 10_000, sources: [{ seq: { terms: { field: 'seq' } } }], ...(after && { after }) } } },
  });
  const c = page.aggregations!.s as { buckets: { key: Record<string, number>; doc_count: number }[]; after_key?: Record<string, number> };
  buckets += c.buckets.length;
  notOnce += c.buckets.filter((x) => x.doc_count !== 1).length;
  if (c.buckets.length < 10_000 || !c.after_key) break;
  after = c.after_key;
}
const n = seq;
const exact = indexed === n && buckets === n && notOnce === 0;
for (const r of rows) {
  r.events = n;
  r.lost = Math.max(0, n - indexed);
  r.duplicated = Math.max(0, indexed - n);
  r['every event once'] = exact ? 'yes' : 'NO';
}
await record(
  'Worker takeover after kill -9',
  `\`npm run bench:takeover -- --kills ${KILLS}\`: a real \`tta-carbon worker\` (concurrency 2) on host-a takes batches of ${LINES} events; at a random moment while it holds some it is killed with -9, then handled as the row says. ` +
    'Takeover = kill until every batch it held is completed (default heartbeatMs 1000, livenessTtlMs 5000, reapIntervalMs 1000). Lost, duplicated and "every event once" are over every event of the run, all rows together (the document count, and one document for each seq, by a composite aggregation).',
  rows,
);
const found = await es.indices.get({ index: `${prefix}-*`, allow_no_indices: true, ignore_unavailable: true });
if (Object.keys(found).length) await es.indices.delete({ index: Object.keys(found) });
for (const name of [prefix, `${prefix}-deadletter`]) await es.indices.deleteIndexTemplate({ name }).catch(() => undefined);
await queue.obliterate({ force: true }).catch(() => undefined);
await queue.close();
await redis.quit();
await es.close();
await rm(dir, { recursive: true, force: true });
