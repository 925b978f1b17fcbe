import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCliProcess } from '../helpers/shipper.js';
import { cleanup, redisClient, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';

// Issue #36: a shipper that starts on a 200 MB carbon.log nobody shipped shows how far
// its catching up is: a bar with its rate and the time left in a real terminal (tmux),
// a log line every few seconds when piped. Workers that take a batch at a time set the
// pace, as Elasticsearch does in production: the shipper stops reading at its high
// water mark and reads on as they drain.

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const BACKLOG = 200 * 1024 * 1024;
const SHIPPER = 'highWaterMark: 8\nbatch:\n  lingerMs: 20';

/** A batch every `ms` or so: a slow indexer without Elasticsearch's cost to the machine. */
function pacedWorkers(queue: string, ms: number) {
  const connection = redisClient();
  const worker = new Worker(queue, () => sleep(ms), { connection, concurrency: 1 });
  worker.on('error', () => undefined);
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}

function writeBacklog(path: string): void {
  const fd = openSync(path, 'w');
  const filler = 'x'.repeat(900);
  let chunk = '';
  let written = 0;
  for (let i = 0; written < BACKLOG; i++) {
    chunk += `2026-12-07 10:00:00,000 - src.components.carbon_component - INFO - backlog line ${i} ${filler}\n`;
    if (chunk.length >= 4 << 20) {
      written += writeSync(fd, chunk);
      chunk = '';
    }
  }
  if (chunk) writeSync(fd, chunk);
  closeSync(fd);
}

describe('catching up a 200 MB backlog', () => {
  const names = uniqueNames('backlog');
  let dir = '';
  let workers: { close(): Promise<void> } | undefined;

  beforeAll(async () => {
    dir = await tempDir('backlog');
  });
  afterEach(async () => {
    await workers?.close();
    workers = undefined;
  });
  afterAll(async () => {
    await cleanup(names, [dir]);
  });

  /** A fresh log directory and data directory (so nothing is shipped yet) for one run. */
  function freshRun(name: string): { log: string; data: string } {
    const log = join(dir, name, 'log');
    mkdirSync(join(log, 'codecarbon'), { recursive: true });
    writeBacklog(join(log, 'carbon.log'));
    return { log, data: join(dir, name, 'data') };
  }

  it('piped: a log line every few seconds with what is done, the rate and the time left, then one saying it is shipped', async () => {
    const run = freshRun('piped');
    workers = pacedWorkers(names.queue, 60);
    const p = await startCliProcess('shipper', names, join(dir, 'piped'), SHIPPER, { TTA_LOG_DIR: run.log, TTA_DATA_DIR: run.data });
    try {
      await waitFor(() => p.output().includes('"msg":"backlog shipped"'), 120_000, 'the backlog to be shipped', 500);
    } finally {
      await p.stop();
    }
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"shipping backlog"'))
      .map((l) => JSON.parse(l) as { time: string; done: number; total: number; percent: number; perSecond?: number; etaSeconds?: number });
    expect(lines.length, p.output()).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l.total).toBeGreaterThanOrEqual(BACKLOG * 0.9);
    const done = lines.map((l) => l.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)).toBeGreaterThan(done[0]!);
    const later = lines.slice(1);
    for (const l of later) {
      expect(l.perSecond).toBeGreaterThan(0);
      expect(l.etaSeconds).toBeGreaterThanOrEqual(0);
    }
    // Periodic, not one per batch: seconds apart.
    const times = lines.map((l) => Date.parse(l.time));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(4000);
  }, 180_000);

  it.skipIf(!hasTmux)(
    'on a terminal: one line that moves, with the rate and the time left',
    async () => {
      const run = freshRun('tty');
      workers = pacedWorkers(names.queue, 60);
      const socket = `tta-${names.queue}`;
      const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
      const config = join(dir, 'tty.yaml');
      writeFileSync(config, `redis:\n  queue: ${names.queue}\nshipper:\n${SHIPPER.replace(/^/gm, '  ')}\n`);
      const env = [
        `TTA_ENV=${names.environment}`,
        `TTA_LOG_DIR=${run.log}`,
        `TTA_DATA_DIR=${run.data}`,
        `REDIS_URL=${services.redisUrl}`,
        `ELASTICSEARCH_URL=${services.elasticsearchUrl}`,
        'TTA_METRICS_PORT=0',
      ].join(' ');
      const started = tmux(
        'new-session',
        '-d',
        '-s',
        'backlog',
        '-x',
        '80',
        '-y',
        '24',
        '-c',
        process.cwd(),
        `env ${env} ${process.execPath} bin/tta-carbon.js --config ${config} shipper`,
      );
      expect(started.status, started.stderr).toBe(0);
      const bar = /shipping backlog: (\d+\.\d) % \(([\d.]+ [kMG]) of ([\d.]+ [kMG]), ([\d.]+ [kMG])\/s, ETA (\d+ s|\d+ min \d+ s)\)/;
      const seen = new Set<string>();
      try {
        await waitFor(
          () => {
            const screen = tmux('capture-pane', '-p', '-J', '-t', 'backlog').stdout;
            const m = bar.exec(screen);
            if (m) seen.add(m[1]!);
            return seen.size >= 3 && screen.includes('backlog shipped');
          },
          120_000,
          'the bar to move and the backlog to be shipped',
          100,
        );
      } finally {
        tmux('send-keys', '-t', 'backlog', 'C-c');
        await waitFor(() => tmux('has-session', '-t', 'backlog').status !== 0, 45_000, 'the shipper to stop on Ctrl-C').catch(() => undefined);
        tmux('kill-server');
      }
      const percents = [...seen].map(Number);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      expect(percents.at(-1)!).toBeGreaterThan(percents[0]!);
    },
    180_000,
  );
});
