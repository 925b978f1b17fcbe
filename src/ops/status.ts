import type { Client } from '@elastic/elasticsearch';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RecentEntry } from '../common/logging/recent.js';
import { livenessKeys } from '../worker/liveness/keys.js';

// What the processes of this host and the cluster are doing, read from what they expose
// already: this host's shipper's /metrics, the queue and the workers' liveness keys in
// Redis, the indices in Elasticsearch. One snapshot per read; rates come from two
// (status-view.ts). A source that cannot be read is named, the others still shown.

export interface FileState {
  path: string;
  size: number;
  unshipped: number;
}

export interface WorkerState {
  name: string;
  host: string;
  pid: number | null;
  started: string;
  /** Its heartbeat key is there: alive. Registered without one: gone, awaiting the reaper. */
  alive: boolean;
  /** Batches it holds now. */
  active: number;
}

export interface Snapshot {
  /** ms since the epoch, of the read. */
  at: number;
  shipper: { url: string; reachable: boolean; paused: boolean; enqueueFailures: number; linesRead: number } | null;
  files: FileState[];
  queue: { waiting: number; active: number; delayed: number; failed: number } | null;
  workers: WorkerState[];
  /** Documents in the daily indices, and in the dead-letter ones. */
  indexed: number | null;
  deadLetters: number | null;
  /** The latest warnings and errors this host's shipper process logged, oldest first. */
  warnings: RecentEntry[];
  /** What could not be read, and why. */
  problems: string[];
}

export interface StatusSources {
  metricsUrl: string;
  queue: Queue;
  redis: Redis;
  elasticsearch: Client;
  indexPrefix: string;
  now: () => number;
  fetch?: typeof fetch;
}

/** One read of every source; none waits longer than `timeoutMs`. */
export async function readStatus(s: StatusSources, timeoutMs = 2000): Promise<Snapshot> {
  const snap: Snapshot = { at: s.now(), shipper: null, files: [], queue: null, workers: [], indexed: null, deadLetters: null, warnings: [], problems: [] };
  const problem = (what: string) => (err: unknown) => {
    snap.problems.push(`${what}: ${(err as Error).message}`);
  };
  await Promise.all([
    readShipper(s, timeoutMs, snap).catch(problem(`this host's shipper (${s.metricsUrl})`)),
    readQueue(s, snap).catch(problem('Redis')),
    readIndices(s, timeoutMs, snap).catch(problem('Elasticsearch')),
  ]);
  return snap;
}

async function readShipper(s: StatusSources, timeoutMs: number, snap: Snapshot): Promise<void> {
  snap.shipper = { url: s.metricsUrl, reachable: false, paused: false, enqueueFailures: 0, linesRead: 0 };
  const res = await (s.fetch ?? fetch)(s.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const samples = parseExposition(await res.text());
  snap.shipper.reachable = true;
  const sizes = new Map<string, number>();
  const unshipped = new Map<string, number>();
  for (const x of samples) {
    if (x.name === 'tta_carbon_file_size_bytes' && x.labels.path) sizes.set(x.labels.path, x.value);
    else if (x.name === 'tta_carbon_unshipped_bytes' && x.labels.path) unshipped.set(x.labels.path, x.value);
    else if (x.name === 'tta_carbon_reading_paused') snap.shipper.paused ||= x.value > 0;
    else if (x.name === 'tta_carbon_enqueue_failures_total') snap.shipper.enqueueFailures += x.value;
    else if (x.name === 'tta_carbon_lines_read_total') snap.shipper.linesRead += x.value;
  }
  snap.files = [...sizes].map(([path, size]) => ({ path, size, unshipped: unshipped.get(path) ?? 0 })).sort((a, b) => a.path.localeCompare(b.path));
  // 503 (unhealthy) still carries the body, and its warnings are what explain it.
  const health = await (s.fetch ?? fetch)(s.metricsUrl.replace(/\/metrics$/, '/health'), { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await health.json().catch(() => ({}))) as { recentWarnings?: RecentEntry[] };
  snap.warnings = Array.isArray(body.recentWarnings) ? body.recentWarnings : [];
}

async function readQueue(s: StatusSources, snap: Snapshot): Promise<void> {
  const c = await s.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
  snap.queue = { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  const keys = livenessKeys(s.queue.qualifiedName);
  const registry = await s.redis.hgetall(keys.registry);
  const names = Object.keys(registry);
  const alive = names.length ? await s.redis.pipeline(names.map((n) => ['exists', keys.alive(n)])).exec() : [];
  const active = (await s.queue.getActive(0, 999)) as { processedBy?: string }[];
  const holding = new Map<string, number>();
  for (const job of active) if (job.processedBy) holding.set(job.processedBy, (holding.get(job.processedBy) ?? 0) + 1);
  snap.workers = names
    .map((name, i) => {
      let info: { host?: string; pid?: number; started?: string } = {};
      try {
        info = JSON.parse(registry[name]!) as typeof info;
      } catch {
        // An entry of another version: shown by its name.
      }
      return {
        name,
        host: info.host ?? name.split(':')[0] ?? '',
        pid: typeof info.pid === 'number' ? info.pid : null,
        started: info.started ?? '',
        alive: alive?.[i]?.[1] === 1,
        active: holding.get(name) ?? 0,
      };
    })
    .sort((a, b) => a.host.localeCompare(b.host) || a.started.localeCompare(b.started));
}

async function readIndices(s: StatusSources, timeoutMs: number, snap: Snapshot): Promise<void> {
  const opts = { requestTimeout: timeoutMs };
  const count = async (index: string) => (await s.elasticsearch.count({ index, ignore_unavailable: true, allow_no_indices: true }, opts)).count;
  [snap.indexed, snap.deadLetters] = await Promise.all([count(`${s.indexPrefix}-2*`), count(`${s.indexPrefix}-deadletter-*`)]);
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (as prom-client writes it: no timestamps). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}
