import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { maintenanceQueues, MaintenanceScheduler } from '../../src/rotation/scheduler.js';
import { redisClient, uniqueNames, waitFor } from '../helpers/services.js';

// Two schedulers on one Redis, as two hosts would run them: retention (cluster-wide)
// runs once per period, rotation once per period on each host.

const names = uniqueNames('sched');
const connections = [redisClient(), redisClient(), redisClient()];
const schedulers: MaintenanceScheduler[] = [];

afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
  for (const host of ['host-a', 'host-b']) {
    const q = maintenanceQueues({ queuePrefix: names.queue, hostName: host });
    for (const name of [q.cluster, q.host]) {
      const queue = new Queue(name, { connection: connections[2]! });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      // The scheduler's own "last run" marks live beside the queue, not in it.
      const marks = await connections[2]!.keys(`${name}:last-run:*`);
      if (marks.length > 0) await connections[2]!.del(...marks);
    }
  }
  for (const c of connections) await c.quit();
});

describe('maintenance scheduler', () => {
  it('two schedulers: retention runs once per period, rotation once per period per host', async () => {
    const retentionRuns: number[] = [];
    const rotateRuns = { 'host-a': [] as number[], 'host-b': [] as number[] };
    for (const [i, host] of (['host-a', 'host-b'] as const).entries()) {
      const s = new MaintenanceScheduler(
        { queuePrefix: names.queue, hostName: host, rotatePattern: '*/2 * * * * *', retentionPattern: '*/2 * * * * *', timeZone: 'UTC' },
        {
          connection: connections[i]!,
          logger: createLogger({ level: 'silent' }),
          rotate: async () => void rotateRuns[host].push(Date.now()),
          retention: async () => void retentionRuns.push(Date.now()),
        },
      );
      await s.start();
      schedulers.push(s);
    }
    const started = Date.now();
    await waitFor(() => retentionRuns.length >= 4, 20_000, 'four retention runs');
    const elapsedPeriods = (Date.now() - started) / 2000;
    // Each 2 s period gives one retention run in total, however many schedulers run.
    expect(retentionRuns.length).toBeLessThanOrEqual(Math.ceil(elapsedPeriods) + 1);
    const gaps = retentionRuns.slice(1).map((t, i) => t - retentionRuns[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThan(1000);
    // Each host rotates its own files every period.
    expect(rotateRuns['host-a'].length).toBeGreaterThanOrEqual(3);
    expect(rotateRuns['host-b'].length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describe('after downtime', () => {
  it('a missed run happens once, not once per missed period', async () => {
    const n = uniqueNames('downtime');
    const runs: number[] = [];
    const make = (connection: ReturnType<typeof redisClient>) =>
      new MaintenanceScheduler(
        { queuePrefix: n.queue, hostName: 'h', rotatePattern: '0 0 1 1 *', retentionPattern: '* * * * * *', timeZone: 'UTC' },
        { connection, logger: createLogger({ level: 'silent' }), rotate: async () => undefined, retention: async () => void runs.push(Date.now()) },
      );
    const first = make(connections[0]!);
    await first.start();
    await waitFor(() => runs.length >= 1, 10_000, 'a first run');
    await first.stop();
    const before = runs.length;
    // Down for five periods.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(runs.length).toBe(before);
    const second = make(connections[1]!);
    const restarted = Date.now();
    await second.start();
    await new Promise((r) => setTimeout(r, 900));
    const q = maintenanceQueues({ queuePrefix: n.queue, hostName: 'h' });
    // The missed run, once: one catch-up job (five periods were missed), next to the
    // regular runs that continue from now.
    const cluster = new Queue(q.cluster, { connection: connections[2]! });
    const catchUps = (await cluster.getJobs(['completed', 'active', 'wait', 'delayed'])).filter((j) => j.id?.startsWith('catchup-'));
    await cluster.close();
    const catchUp = catchUps.length;
    expect(runs.filter((t) => t >= restarted).length).toBeGreaterThanOrEqual(1);
    await second.stop();
    for (const name of [q.cluster, q.host]) {
      const queue = new Queue(name, { connection: connections[2]! });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    expect(catchUp).toBe(1);
  }, 60_000);
});
