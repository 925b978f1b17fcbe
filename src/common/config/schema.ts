import { hostname } from 'node:os';
import { DEFAULT_START_PATTERN } from '../lines/boundary.js';
import { unsafeRegexReason } from '../regex/safe-regex.js';
import { z } from 'zod';

// Every default lives in this file. Values that depend on others (the log dir on the
// environment, the index prefix on the environment, the inputs on the log dir) are
// filled in by `resolveDefaults` below, still here, so there is one place to read.

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const positiveInt = z.number().int().positive();
const urlWithScheme = (schemes: string[], example: string) =>
  z.string().refine(
    (u) => {
      try {
        return schemes.includes(new URL(u).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a ${schemes.map((p) => `${p}//`).join(' or ')} URL such as ${example}` },
  );
const httpUrl = urlWithScheme(['http:', 'https:'], 'http://127.0.0.1:9200');
const redisUrl = urlWithScheme(['redis:', 'rediss:'], 'redis://127.0.0.1:6379');
// Environments end up in index names, which Elasticsearch wants lowercase and free of
// separators; a typo here would otherwise surface as a bulk rejection much later.
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const environmentName = z.string().regex(ENVIRONMENT_NAME, { message: 'expected lowercase letters, digits, "-" or "_"' });

/** Index prefix of an environment unless configured: tta-<env>-carbon, as the guide names them. */
export function defaultIndexPrefix(environment: string): string {
  return `tta-${environment}-carbon`;
}
const queueName = z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'expected letters, digits, ".", "-" or "_" (BullMQ refuses ":")' });

// Every pattern an operator writes is proved linear-time at load (common/regex): a
// pattern that backtracks catastrophically hangs the process on one hostile line.
const regex = (flags: string) =>
  z.string().superRefine((source, ctx) => {
    const reason = unsafeRegexReason(source, flags);
    if (reason) ctx.addIssue({ code: 'custom', message: `expected a regular expression that matches in linear time: this one ${reason}` });
  });

const timeZone = z.string().refine(
  (tz) => {
    if (tz === 'local') return true;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected "local" or an IANA time zone such as "Europe/Berlin"' },
);

const createSchema = z.strictObject({
  mode: z
    .string()
    .regex(/^0?[0-7]{3}$/, { message: 'expected an octal mode such as "0644"' })
    .default('0644'),
  // Applied only when running as root (like logrotate's create MODE OWNER GROUP).
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
});

// logrotate's directives, with its meanings. `files` is a glob on the file name.
export const rotationPolicySchema = z.strictObject({
  files: z.string().min(1),
  frequency: z.enum(['daily', 'weekly', 'monthly', 'size']).default('daily'),
  /** Bytes; with frequency "size", rotate once the file is at least this big. */
  size: positiveInt.optional(),
  rotate: z.number().int().nonnegative().default(30),
  compress: z.boolean().default(true),
  compressLevel: z.number().int().min(1).max(9).default(6),
  delaycompress: z.boolean().default(true),
  ifempty: z.boolean().default(false),
  missingok: z.boolean().default(true),
  create: z.union([createSchema, z.literal(false)]).default({ mode: '0644' }),
  copytruncate: z.boolean().default(false),
  dateext: z.boolean().default(false),
  maxage: positiveInt.optional(),
  postrotate: z.string().min(1).optional(),
  sharedscripts: z.boolean().default(false),
  // Files written once and never appended (codecarbon reports): archived in place
  // (compressed after a period, deleted after maxage) instead of renamed and re-created.
  wholeFiles: z.boolean().default(false),
});

export const inputSchema = z.strictObject({
  // log: lines (carbon.log); report: whole codecarbon JSON documents; csv: header + rows.
  kind: z.enum(['log', 'report', 'csv']),
  paths: z.array(z.string().min(1)).min(1),
});

export const configSchema = z.strictObject({
  environment: environmentName.default('staging'),
  logDir: z.string().min(1).optional(),
  codecarbonDir: z.string().min(1).optional(),
  dataDir: z.string().min(1).default('/var/lib/tta-carbon'),
  hostName: z.string().min(1).default(hostname()),
  logLevel: logLevel.default('info'),
  // Own logs: one readable line per event for a person at a terminal, JSON lines for
  // journald, files and log shippers. auto: readable when stdout is a terminal.
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  project: z
    .strictObject({
      name: z.string().min(1).default('TTA-Staging'),
      measurementIntervalSeconds: positiveInt.default(60),
    })
    .prefault({}),
  redis: z
    .strictObject({
      url: redisUrl.default('redis://127.0.0.1:6379'),
      queue: queueName.default('tta-carbon'),
      // Redis replication is asynchronous: with this set, the shipper moves its offset
      // only once a batch is on this many replicas too (WAIT), so a primary lost after
      // acknowledging it loses nothing. Each batch then waits for a replica round trip.
      minReplicas: z.number().int().min(0).default(0),
      // Redis Sentinel: the sentinels to ask for the current primary of `name`; `url`
      // then gives only the password, database and TLS of the primary.
      sentinels: z
        .array(z.string().regex(/^[^:\s]+:\d{1,5}$/, { message: 'expected host:port' }))
        .min(1)
        .optional(),
      name: z.string().min(1).default('mymaster'),
      sentinelPassword: z.string().min(1).optional(),
      replicaTimeoutMs: positiveInt.default(2_000),
    })
    .prefault({}),
  elasticsearch: z
    .strictObject({
      url: httpUrl.default('http://127.0.0.1:9200'),
      // Several nodes of one cluster: requests are spread over them, and a dead node is
      // left out until it answers again. Replaces `url` when set.
      nodes: z.array(httpUrl).min(1).optional(),
      apiKey: z.string().min(1).optional(),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      caFile: z.string().min(1).optional(),
      indexPrefix: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_.-]*$/, { message: 'expected a lowercase index name prefix' })
        .optional(),
      requestTimeoutMs: positiveInt.default(30_000),
    })
    .prefault({}),
  shipper: z
    .strictObject({
      inputs: z.array(inputSchema).optional(),
      pollIntervalMs: positiveInt.default(250),
      startAt: z.enum(['beginning', 'end']).default('beginning'),
      // Off: a symlink at an input path is refused (its target may be a file the log
      // directory's owner could not read). On: followed, the target must be a regular file.
      followSymlinks: z.boolean().default(false),
      // Lines longer than this are cut and flagged, so one runaway line cannot hold memory.
      maxLineBytes: positiveInt.default(1024 * 1024),
      // A last line without newline is shipped after this much quiet (or at rotation).
      partialLineTimeoutMs: positiveInt.default(10_000),
      // A file renamed away is read on until quiet this long (writers reopen late).
      rotatedGraceMs: positiveInt.default(5_000),
      // A report is read once its size and mtime have not changed for this long.
      reportSettleMs: positiveInt.default(2_000),
      // How often the input globs are expanded again to find new files.
      discoveryIntervalMs: positiveInt.default(1_000),
      // Stop reading while this many batches wait in the queue (backpressure). A carbon.log
      // batch holds up to batch.maxBytes of raw lines, so this bounds Redis memory too
      // (256 × 1 MiB).
      highWaterMark: positiveInt.default(256),
      // Stop reading while Redis uses this share of its maxmemory: with noeviction a full
      // Redis refuses the workers' writes too, so they need room left to drain it.
      redisMemoryHighWater: z.number().gt(0).max(1).default(0.9),
      // Registry entries of files gone longer than this are dropped.
      registryCleanupMs: positiveInt.default(7 * 24 * 3600 * 1000),
      multiline: z
        .strictObject({
          startPattern: regex('').default(DEFAULT_START_PATTERN),
          maxLines: positiveInt.default(500),
          maxBytes: positiveInt.default(1024 * 1024),
          flushTimeoutMs: positiveInt.default(1000),
        })
        .prefault({}),
      batch: z
        .strictObject({
          maxRecords: positiveInt.default(1000),
          maxBytes: positiveInt.default(1024 * 1024),
          lingerMs: z.number().int().nonnegative().default(200),
        })
        .prefault({}),
    })
    .prefault({}),
  // Zone for timestamps written without one (Python asctime, codecarbon's isoformat()).
  timeZone: timeZone.default('local'),
  // Days of daily indices kept; older events go to the dead-letter store, not to an
  // index that retention already deleted.
  retentionDays: positiveInt.default(30),
  // Days of dead-letter indices kept: longer, they are what someone has to look at.
  deadLetterRetentionDays: positiveInt.default(90),
  sanitizer: z
    .strictObject({
      enabled: z.boolean().default(true),
      // Keys whose values are always redacted, in addition to the built-in list.
      extraKeys: z.array(z.string().min(1)).default([]),
      // Regular expressions whose matches are redacted inside any string.
      extraPatterns: z.array(regex('g')).default([]),
      // codecarbon latitude/longitude: rounded to 1 decimal, or removed.
      location: z.enum(['round', 'remove']).default('round'),
      emails: z.boolean().default(true),
    })
    .prefault({}),
  // /metrics and /health of each long-running process.
  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .prefault({}),
  rotation: z
    .strictObject({
      policies: z.array(rotationPolicySchema).optional(),
      // The guide's backup before delete: whole files (codecarbon reports) past their
      // maxage go into a dated, verified tar.gz here before they are removed.
      archive: z
        .strictObject({
          dir: z.string().min(1).optional(),
          keepDays: positiveInt.default(365),
        })
        .prefault({}),
    })
    .prefault({}),
  // Cron patterns (5 fields, or 6 with seconds) run by `tta-carbon scheduler` through
  // BullMQ job schedulers. Rotation only acts on what is due, so running it hourly is
  // how logrotate's daily cron behaves after a host was down at the usual time.
  schedule: z
    .strictObject({
      rotate: z.string().min(1).default('5 * * * *'),
      retention: z.string().min(1).default('30 1 * * *'),
      // IANA zone for the patterns; "local" is the host's.
      timeZone: timeZone.default('local'),
    })
    .prefault({}),
  worker: z
    .strictObject({
      // Batches a worker takes at once. With two, Elasticsearch waited while the worker
      // built each one's next request; three keep it busy (bench:pipeline, BENCHMARKS.md).
      concurrency: positiveInt.default(3),
      // Attempts for a batch that fails for a real fault. Waiting for an unavailable
      // Elasticsearch (outage, 429, 5xx) spends none: see worker.ts.
      maxAttempts: positiveInt.default(50),
      backoffMs: positiveInt.default(1000),
      maxBackoffMs: positiveInt.default(60_000),
      // A worker that stops renewing its lock this long (killed, frozen, cut off) loses
      // its batch to another worker; stalled batches are looked for as often.
      lockDurationMs: positiveInt.default(30_000),
      // A worker proves it is alive in Redis this often, from a thread of its own, and
      // counts as gone when it has not for livenessTtlMs; every live worker looks for
      // gone ones' batches every reapIntervalMs (worker/liveness/).
      heartbeatMs: positiveInt.default(1_000),
      livenessTtlMs: positiveInt.default(5_000),
      reapIntervalMs: positiveInt.default(1_000),
      // A carbon.log batch whose lines were never attached (its shipper died between
      // queueing it and attaching them) is given up after waiting this long; giving up
      // loses nothing (common/queue/payload.ts), waiting forever kept the queue busy.
      bytesWaitMs: positiveInt.default(60_000),
      // Extra carbon.log line formats: regexes with named groups timestamp, level,
      // logger, message (all optional), tried before the built-in Python formats.
      logPatterns: z.array(regex('s')).default([]),
    })
    // Two beats a period at least: one lost SET must not make a live worker look gone.
    .refine((w) => w.heartbeatMs * 2 <= w.livenessTtlMs, { message: 'expected at least twice heartbeatMs', path: ['livenessTtlMs'] })
    .prefault({}),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Parsed = z.output<typeof configSchema>;
export type InputConfig = z.output<typeof inputSchema>;

export type RotationPolicy = z.output<typeof rotationPolicySchema>;

export interface Config extends Omit<Parsed, 'logDir' | 'codecarbonDir' | 'shipper' | 'elasticsearch' | 'rotation'> {
  rotation: { policies: RotationPolicy[]; archive: { dir: string; keepDays: number } };
  logDir: string;
  codecarbonDir: string;
  elasticsearch: Parsed['elasticsearch'] & { indexPrefix: string };
  shipper: Parsed['shipper'] & { inputs: InputConfig[] };
}
