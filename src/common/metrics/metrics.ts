import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per process, made by whoever wires the process and passed to the parts
// (no module-level state). Names follow Prometheus conventions; `up` and
// `carbon_emissions_kg` keep the names the staging guide's alerts use.

export function createMetrics(labels: { environment: string; role: string }) {
  const registry = new Registry();
  registry.setDefaultLabels({ environment: labels.environment, role: labels.role });
  // The event-loop lag histogram samples the loop on a timer of this period: at
  // prom-client's 10 ms every idle process woke a hundred times a second, about half
  // of its CPU while idle. Nothing we ship reads the lag finer than this.
  collectDefaultMetrics({ register: registry, prefix: 'tta_carbon_process_', eventLoopMonitoringPrecision: 100 });
  const r = [registry];
  return {
    registry,
    up: new Gauge({ name: 'up', help: '1 while this tta-carbon process runs', registers: r }),
    emissionsKg: new Gauge({
      name: 'carbon_emissions_kg',
      help: 'kg CO2eq of the codecarbon runs of the last 24 hours, per project, as indexed (each run once)',
      labelNames: ['project'],
      registers: r,
    }),
    lastHourKg: new Gauge({
      name: 'carbon_emissions_last_hour_kg',
      help: 'kg CO2eq of the codecarbon runs of the last 60 minutes, per project',
      labelNames: ['project'],
      registers: r,
    }),
    usualHourKg: new Gauge({
      name: 'carbon_emissions_usual_hour_kg',
      help: "the project's usual hour: median kg CO2eq of its hours with runs over the 7 days before the last hour",
      labelNames: ['project'],
      registers: r,
    }),
    unusualRatio: new Gauge({
      name: 'carbon_emissions_unusual_ratio',
      help: 'last hour / usual hour, per project; absent with fewer than 24 hours of runs in the last 7 days',
      labelNames: ['project'],
      registers: r,
    }),
    emissionsKgTotal: new Counter({
      name: 'carbon_function_emissions_kg_total',
      help: 'emissions of ingested function measurements, kg CO2eq',
      labelNames: ['project', 'function'],
      registers: r,
    }),
    batchesReclaimed: new Counter({
      name: 'tta_carbon_batches_reclaimed_total',
      help: 'batches of workers that are gone (no heartbeat) handed back to the queue',
      registers: r,
    }),
    linesRead: new Counter({ name: 'tta_carbon_lines_read_total', help: 'lines read from followed files', registers: r }),
    bytesRead: new Counter({ name: 'tta_carbon_bytes_read_total', help: 'bytes read from followed files', registers: r }),
    recordsEnqueued: new Counter({ name: 'tta_carbon_records_enqueued_total', help: 'records accepted by Redis', registers: r }),
    batchesEnqueued: new Counter({ name: 'tta_carbon_batches_enqueued_total', help: 'batches accepted by Redis', registers: r }),
    inputRefused: new Gauge({
      name: 'tta_carbon_input_refused',
      help: 'input paths skipped now because they are not regular files (symlink, FIFO, device, socket, directory)',
      labelNames: ['path'],
      registers: r,
    }),
    inputProblems: new Counter({
      name: 'tta_carbon_input_problems_total',
      help: 'input trouble lived through: unreadable files, registry saves that failed, invalid reports, lines cut at maxLineBytes',
      labelNames: ['kind'],
      registers: r,
    }),
    enqueueFailures: new Counter({
      name: 'tta_carbon_enqueue_failures_total',
      help: 'batches read but not queued this time, tried again from the same offset: Redis down or refusing (redis), out of memory (redis_full), or their job id standing for a job workers gave up (given_up) or that went (job_gone)',
      labelNames: ['reason'],
      registers: r,
    }),
    readingPaused: new Gauge({
      name: 'tta_carbon_reading_paused',
      help: 'the shipper has stopped reading (backpressure), by cause: redis_unreachable, queue_backlog, redis_memory (near maxmemory)',
      labelNames: ['cause'],
      registers: r,
    }),
    fileSize: new Gauge({ name: 'tta_carbon_file_size_bytes', help: 'size of each followed file', labelNames: ['path'], registers: r }),
    logEvents: new Counter({ name: 'tta_carbon_log_events_total', help: 'carbon.log events indexed, by log.level', labelNames: ['level'], registers: r }),
    unshippedBytes: new Gauge({
      name: 'tta_carbon_unshipped_bytes',
      help: 'bytes on disk not yet in Redis, per followed path',
      labelNames: ['path'],
      registers: r,
    }),
    documentsIndexed: new Counter({ name: 'tta_carbon_documents_indexed_total', help: 'documents indexed (a replay counted once)', registers: r }),
    duplicates: new Counter({ name: 'tta_carbon_documents_duplicate_total', help: 'documents already present (409 on create): replays', registers: r }),
    deadLettered: new Counter({ name: 'tta_carbon_dead_lettered_total', help: 'documents sent to the dead-letter index', registers: r }),
    retries: new Counter({ name: 'tta_carbon_index_retries_total', help: 'documents retried after a transient failure', registers: r }),
    indexFailures: new Counter({
      name: 'tta_carbon_index_failures_total',
      help: 'batches not indexed this time: handed back to wait (Elasticsearch could not take them, or their lines were not attached yet), or given up for lines that never came (bytes_never_attached)',
      labelNames: ['reason'],
      registers: r,
    }),
    queueJobs: new Gauge({ name: 'tta_carbon_queue_jobs', help: 'jobs in the queue by state', labelNames: ['state'], registers: r }),
    rotationRuns: new Counter({ name: 'tta_carbon_rotation_runs_total', help: 'rotation runs', registers: r }),
    rotationFailures: new Counter({ name: 'tta_carbon_rotation_failures_total', help: 'rotation runs that ended with errors', registers: r }),
    lastRetention: new Gauge({
      name: 'tta_carbon_last_retention_success_timestamp_seconds',
      help: 'end of the last successful index retention run',
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Moves counters to running totals a part keeps itself (the shipper counts in plain
 * numbers, so it runs without a metrics registry): only the difference is added, and a
 * total that went down (a part restarted in process) adds nothing. One per part, made
 * by whoever wires it.
 */
export class CounterFeed {
  private readonly seen = new Map<Counter<string>, Map<string, number>>();

  advance(counter: Counter<string>, total: number, labels: Record<string, string> = {}): void {
    let seen = this.seen.get(counter);
    if (!seen) {
      seen = new Map();
      this.seen.set(counter, seen);
    }
    const key = JSON.stringify(labels);
    const before = seen.get(key);
    const delta = total - (before ?? 0);
    seen.set(key, Math.max(total, before ?? 0));
    // A series shows from the first scrape, at 0 if nothing happened yet.
    if (delta > 0 || before === undefined) counter.inc(labels, Math.max(0, delta));
  }
}
