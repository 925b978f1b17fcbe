import { randomInt } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Command } from 'commander';
import { table } from '../bench/lib/report.js';
import { servicesEnv } from '../src/services/launcher.js';
import { ChaosProcess, chaosServices, servicesStart, servicesStop, type TALLIED } from './lib/cluster.js';
import { inject, planFaults } from './lib/faults.js';
import type { PlannedEvent } from './lib/plan.js';
import { collect, expectedKeys, rotatedFilesAccount, secretsSearchable } from './lib/verify.js';
import { ChaosWriter } from './lib/writer.js';
import { GuideLogrotate, guideRotationMs } from './lib/guide.js';
import { ensureCommand } from '../src/services/debian.js';
import { canMount, mountTmpfs, unmount } from '../test/helpers/disk.js';
import { esFaultProxy, type FaultProxy } from '../test/helpers/es-fault-proxy.js';
import { rng } from './lib/plan.js';

// npm run test:chaos [-- --seed N] [-- --quick]
// The real processes (a shipper, two workers, a scheduler rotating every 3 s), a Redis
// with AOF and an Elasticsearch of their own, faults on a seeded timeline while numbered
// events are written, then a drain and the checks. Exit 0 only if every check holds.

const program = new Command('test:chaos')
  .option('--seed <n>', 'seed for events and faults (default: random, printed)', (v) => Number.parseInt(v, 10))
  .option('--quick', 'the short variant CI runs')
  .option('--keep', 'keep the run directory and the services for inspection')
  .parse(process.argv);
const opts = program.opts<{ seed?: number; quick?: boolean; keep?: boolean }>();
const seed = opts.seed ?? randomInt(1, 2 ** 31 - 1);
const quick = Boolean(opts.quick);
const size = quick
  ? {
      events: 20_000,
      perSecond: 300,
      esOutageMs: 20_000,
      freezeMs: 25_000,
      fullMs: 10_000,
      overloadMs: 20_000,
      shipperKills: 3,
      workerKills: 2,
      drainMs: 300_000,
    }
  : {
      events: 150_000,
      perSecond: 800,
      esOutageMs: 60_000,
      freezeMs: 45_000,
      fullMs: 30_000,
      overloadMs: 60_000,
      shipperKills: 8,
      workerKills: 6,
      drainMs: 600_000,
    };
// Slow enough that the faults, one after another, all land while events are written.
const WORKERS = 2;
const say = (line: string) => console.log(`[chaos] ${line}`);
say(`seed ${seed}${quick ? ' (quick)' : ''}: reproduce with npm run test:chaos -- --seed ${seed}${quick ? ' --quick' : ''}`);

const base = servicesEnv();
const services = chaosServices(base.dir);
const runDir = join(base.dir, `chaos-run-${seed}`);
const logDir = join(runDir, 'log');
const ccDir = join(logDir, 'codecarbon');
const environment = `chaos${seed}`;
const prefix = `tta-${environment}-carbon`;
const queueName = `chaos-${seed}`;
// The guide's logrotate scenario: a second environment and host on the same queue.
const guideEnvironment = `${environment}g`;
const guidePrefix = `tta-${guideEnvironment}-carbon`;
const guideDir = join(runDir, 'guide', 'log');

await rm(runDir, { recursive: true, force: true });
await mkdir(ccDir, { recursive: true });
const configFile = join(runDir, 'config.yaml');
await writeFile(
  configFile,
  `${[
    `redis:\n  queue: ${queueName}`,
    'shipper:\n  pollIntervalMs: 100\n  batch:\n    lingerMs: 100',
    'worker:\n  concurrency: 2\n  backoffMs: 500\n  maxBackoffMs: 5000\n  lockDurationMs: 10000',
    // Rotation every 3 s whatever the size, and every copy kept, so every byte can be counted.
    `schedule:\n  rotate: '*/3 * * * * *'`,
    `rotation:\n  policies:\n    - files: ${logDir}/carbon.log\n      frequency: size\n      size: 1\n      rotate: 100000`,
  ].join('\n')}\n`,
);

// Whatever happens, the processes and services this run started are stopped.
const started: ChaosProcess[] = [];
const guide = new GuideLogrotate(guideDir, seed);
// The shipper's data dir on a disk of its own (a tmpfs, as root) that a fault fills.
const dataDir = join(runDir, 'data');
const dataDisk = canMount && mountTmpfs(dataDir, 64) ? dataDir : null;
let esProxy: FaultProxy | null = null;
async function release(): Promise<void> {
  await esProxy?.close();
  // Kept with --keep, for inspection, as the run directory is.
  if (dataDisk && !opts.keep) unmount(dataDisk);
}
try {
  const lr = await ensureCommand('logrotate', 'logrotate');
  if ('error' in lr) throw new Error(lr.error);
  say('starting Redis (AOF) and Elasticsearch of our own');
  await servicesStart(services);
  await clearPrevious();
  // The workers reach Elasticsearch through a proxy that a fault makes answer 429.
  esProxy = await esFaultProxy(services.es.url, 0, rng(seed ^ 0x429));
  const env = {
    TTA_ENV: environment,
    TTA_LOG_DIR: logDir,
    CARBON_OUTPUT_DIR: ccDir,
    TTA_DATA_DIR: dataDir,
    REDIS_URL: services.redis.url,
    ELASTICSEARCH_URL: services.es.url,
    TTA_METRICS_PORT: '0',
    CARBON_LOG_LEVEL: 'info',
  };
  const shipper = new ChaosProcess('shipper', 'shipper', configFile, env);
  const workers = Array.from({ length: WORKERS }, (_, i) => new ChaosProcess(`worker ${i}`, 'worker', configFile, { ...env, ELASTICSEARCH_URL: esProxy!.url }));
  const scheduler = new ChaosProcess('scheduler', 'scheduler', configFile, env);
  await guide.prepare();
  const guideShipper = new ChaosProcess('guide shipper', 'shipper', configFile, {
    ...env,
    TTA_ENV: guideEnvironment,
    TTA_HOST_NAME: 'guide-host',
    TTA_LOG_DIR: guideDir,
    CARBON_OUTPUT_DIR: join(guideDir, 'codecarbon'),
    TTA_DATA_DIR: join(runDir, 'data-guide'),
  });
  const all = [shipper, ...workers, scheduler, guideShipper];
  started.push(...all);
  await Promise.all(all.map((p) => p.start()));

  /** A run kept with --keep under the same seed would otherwise count as duplicates. */
  async function clearPrevious(): Promise<void> {
    const es = new Client({ node: services.es.url });
    await deleteIndices(es);
    await es.close();
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection: redis });
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.quit();
  }

  async function deleteIndices(es: Client): Promise<void> {
    // Elasticsearch refuses wildcard deletes: resolve the names first.
    for (const p of [prefix, guidePrefix]) {
      const found = await es.indices.get({ index: `${p}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => ({}));
      for (const index of Object.keys(found)) await es.indices.delete({ index });
    }
  }

  async function holdsJob(w: ChaosProcess): Promise<void> {
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection: redis });
    try {
      for (let i = 0; i < 300; i++) {
        const active = await queue.getActive().catch(() => []);
        if (active.some((j) => j.processedBy?.includes(`:${w.pid}:`))) return;
        await sleep(20);
      }
      say(`${w.name} held no batch for 6 s; freezing it anyway`);
    } finally {
      await queue.close();
      await redis.quit();
    }
  }

  const writer = new ChaosWriter(seed, join(logDir, 'carbon.log'), ccDir);
  const durationMs = Math.ceil((size.events / size.perSecond) * 1000);
  const plan = planFaults(seed, { durationMs, workers: WORKERS, dataDisk: dataDisk !== null, ...size });
  say(`writing ${size.events.toLocaleString('en-US')} events at ${size.perSecond}/s (~${Math.round(durationMs / 1000)} s) with ${plan.length} faults`);
  const t0 = Date.now();
  const faultEs = new Client({ node: services.es.url });
  const [, { done: faults, errors: faultErrors }] = await Promise.all([
    writer.run(size.events, size.perSecond, () => false),
    inject(plan, { services, shipper, workers, say, holdsJob, es: faultEs, indices: [`${prefix}-*`, `${guidePrefix}-*`], esProxy, dataDisk }, t0),
    guide.run(durationMs, quick ? 100 : 200, guideShipper, quick ? 3 : 5, guideRotationMs(size.esOutageMs)),
  ]);
  await faultEs.close();
  if (!dataDisk) say('not root: the data dir disk full fault is left out');
  const wroteAt = Date.now();
  say(`written in ${((wroteAt - t0) / 1000).toFixed(1)} s; draining`);

  const es = new Client({ node: services.es.url });
  const events = new Map<number, PlannedEvent>(writer.written.events.map((e) => [e.seq, e]));
  const expected = expectedKeys(writer.written.events);
  const poison = writer.written.events.filter((e) => e.poison).map((e) => e.seq);
  const secrets = writer.written.events.flatMap((e) => (e.secret ? [e.secret] : []));
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: redis });

  let lastStatus = 0;
  async function drained(): Promise<boolean> {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused', 'failed');
    await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
    const n = (await es.count({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true })).count;
    if (Date.now() - lastStatus > 15_000) {
      lastStatus = Date.now();
      say(`draining: ${n} of ${expected.size + poison.length} documents; queue ${JSON.stringify(counts)}`);
    }
    const { failed, ...open } = counts;
    const idle = Object.values(open).every((v) => v === 0);
    // Nothing queued and nothing arriving: whatever is missing will not come.
    if (!idle || n !== lastCount) idleSince = Date.now();
    lastCount = n;
    return idle && n >= expected.size + poison.length;
  }
  let idleSince = Date.now();
  let lastCount = -1;
  let drainedOk = false;
  let quietSince = Date.now();
  while (Date.now() - wroteAt < size.drainMs) {
    for (const p of all) await p.keepAlive().catch((err: Error) => say(`${p.name} will not start: ${err.message.slice(0, 500)}`));
    if (await drained().catch(() => false)) {
      // Hold a little: a late duplicate would show up now, not after the check.
      if (Date.now() - quietSince > 3000) {
        drainedOk = true;
        break;
      }
    } else quietSince = Date.now();
    if (Date.now() - idleSince > 60_000) {
      say('queue empty and no document arriving for 60 s: stopping the wait');
      break;
    }
    await sleep(1000);
  }
  const drainSeconds = (Date.now() - wroteAt) / 1000;
  say(drainedOk ? `drained in ${drainSeconds.toFixed(1)} s` : `not drained after ${drainSeconds.toFixed(0)} s; checking what arrived`);

  await guide.waitFor(es, guidePrefix, 60_000);
  const guideResult = await guide.verify(es, guidePrefix);
  const arrived = await collect(es, prefix, events, secrets);
  const searchable = await secretsSearchable(es, prefix, secrets);
  // Rotation keeps going while we count: stop the writers of files first.
  await Promise.all(all.map((p) => p.stop()));
  const disk = await rotatedFilesAccount(logDir, writer.written.events, writer.written.logBytes);
  const failedJobs = await queue.getJobCounts('failed');

  let lost = 0;
  let duplicated = 0;
  for (const key of expected) {
    const n = arrived.docs.get(key) ?? 0;
    if (n === 0) lost++;
    else duplicated += n - 1;
  }
  const dlqSeqs = [...arrived.deadLetters.keys()].sort((a, b) => a - b);
  const dlqExact = dlqSeqs.length === poison.length && poison.every((s) => arrived.deadLetters.get(s)?.length === 1);
  const dlqReasons = [...arrived.deadLetters.values()].flat().every((d) => d.type === 'document_parsing_exception' && /empty string/.test(d.reason));

  const checks: [string, boolean, string][] = [
    ['every event indexed', lost === 0, `${lost} documents missing`],
    ['none duplicated', duplicated === 0, `${duplicated} extra documents`],
    ['contents intact', arrived.problems.length === 0, arrived.problems.slice(0, 5).join('; ')],
    ['no planted secret in any document', arrived.secretsFound.length === 0, arrived.secretsFound.slice(0, 5).join('; ')],
    ['no planted secret searchable', searchable.length === 0, searchable.slice(0, 5).join('; ')],
    [
      'dead letters = the planted poison, with reasons',
      dlqExact && dlqReasons,
      `planted ${poison.length}: [${poison.slice(0, 10)}], dead-lettered [${dlqSeqs.slice(0, 10)}]`,
    ],
    [
      'rotated files hold every byte once',
      disk.missing.length === 0 && disk.doubled.length === 0 && disk.bytes === disk.bytesWritten,
      `${disk.files} files, ${disk.bytes} of ${disk.bytesWritten} bytes, missing [${disk.missing.slice(0, 5)}], doubled [${disk.doubled.slice(0, 5)}]`,
    ],
    [
      "the guide's logrotate beside us: every line once",
      guideResult.lost === 0 && guideResult.duplicated === 0 && guide.stats.minRotationsWhileDown >= 3,
      `${guideResult.lost} lost [${guideResult.missing}], ${guideResult.duplicated} duplicated of ${guide.stats.written}; fewest rotations while down ${guide.stats.minRotationsWhileDown}`,
    ],
    ['no failed jobs', failedJobs.failed === 0, `${failedJobs.failed} failed`],
    ['drained', drainedOk, `not drained after ${drainSeconds.toFixed(0)} s`],
    ['every process came back after each fault', faultErrors.length === 0, faultErrors.slice(0, 3).join('; ')],
    [
      'no process crashed by itself',
      all.every((p) => p.crashes.length === 0),
      all
        .flatMap((p) => p.crashes)
        .slice(0, 3)
        .join('; '),
    ],
  ];

  const logged = (msg: (typeof TALLIED)[number]) => all.reduce((n, p) => n + p.tally(msg), 0);
  const byKind = (k: string) => writer.written.events.filter((e) => e.kind === k).length;
  console.log(`\nChaos run, seed ${seed}${quick ? ' (quick)' : ''}\n`);
  console.log(
    table([
      {
        'events written': writer.written.events.length,
        'log / csv / report': `${byKind('log')} / ${byKind('csv')} / ${byKind('report')}`,
        'documents expected': expected.size,
        indexed: [...arrived.docs.values()].reduce((a, b) => a + b, 0),
        duplicated,
        lost,
        'dead-lettered (planted)': `${dlqSeqs.length} (${poison.length})`,
        'secrets planted / found': `${secrets.length} / ${arrived.secretsFound.length + searchable.length}`,
        'stalled batches handed over': logged('batch stalled'),
        // A shipper killed between queueing a batch and attaching its lines (README, queue).
        'batches given up / refused to a shipper': `${logged('batch given up')} / ${logged('batch not queued')}`,
        'drain s': drainSeconds,
      },
    ]),
  );
  console.log('');
  console.log(
    table([
      {
        [`guide's logrotate (compress, delaycompress), forced every ${guideRotationMs(size.esOutageMs) / 1000} s`]: `${guide.stats.rotations} rotations`,
        'lines written': guide.stats.written,
        indexed: guideResult.total,
        duplicated: guideResult.duplicated,
        lost: guideResult.lost,
        'shipper kills': guide.stats.kills,
        'fewest rotations while it was down': guide.stats.minRotationsWhileDown,
        'set aside by logrotate (.backup)': guide.setAside(),
      },
    ]),
  );
  console.log('');
  console.log(table([...faults].map(([kind, n]) => ({ fault: kind, injected: n }))));
  console.log('');
  console.log(table(all.map((p) => ({ process: p.name, restarts: p.restarts, 'peak RSS MB': p.peakRssMb }))));
  console.log('');
  console.log(table(checks.map(([name, ok, detail]) => ({ check: name, result: ok ? 'pass' : 'FAIL', detail: ok ? '' : detail }))));

  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await redis.quit();
  if (!opts.keep) await deleteIndices(es).catch(() => undefined);
  await es.close();
  await release();
  if (!opts.keep) {
    await servicesStop(services);
    await rm(runDir, { recursive: true, force: true });
  } else {
    for (const p of all) await p.save(runDir);
    say(`kept ${runDir} (process logs included) and the services (redis ${services.redis.url}, elasticsearch ${services.es.url})`);
  }

  const failed = checks.filter(([, ok]) => !ok);
  if (failed.length > 0) {
    say(`FAILED: ${failed.map(([n]) => n).join(', ')}`);
    for (const p of all)
      console.log(
        `--- last errors of ${p.name}\n${p
          .output()
          .split('\n')
          .filter((l) => /"level":(50|60)/.test(l))
          .slice(-5)
          .join('\n')}`,
      );
    process.exitCode = 1;
  } else say('all checks passed');
} catch (err) {
  console.error(err);
  // Its loops would otherwise restart the shipper they killed.
  guide.stop();
  for (const p of started) await p.stop().catch(() => undefined);
  await release().catch(() => undefined);
  if (!opts.keep) await servicesStop(services);
  process.exitCode = 1;
}
