import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/logging/logger.js';
import { Backpressure } from '../../src/shipper/backpressure.js';
import { BacklogProgress } from '../../src/shipper/backlog-progress.js';
import { Registry } from '../../src/shipper/registry.js';
import { RegistrySaver } from '../../src/shipper/registry-saver.js';
import { tempDir } from '../helpers/services.js';

// The shipper's loop parts, in process, with an injected clock and a logger whose lines
// the test reads.
function recordingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { logger, lines };
}

describe('Backpressure', () => {
  it('starts paused, opens when Redis is ready and the backlog low, closes at the high-water mark', async () => {
    let now = 0;
    let ready = false;
    let waiting = 0;
    let asked = 0;
    const { logger, lines } = recordingLogger();
    const bp = new Backpressure(
      { highWaterMark: 100, redisMemoryHighWater: 0.9 },
      {
        redisReady: () => ready,
        backlog: async () => {
          asked++;
          return waiting;
        },
        logger,
        now: () => now,
      },
    );
    expect(await bp.mayRead()).toBe(false);
    ready = true;
    expect(await bp.mayRead()).toBe(true);
    waiting = 100;
    now = 500;
    // Within the check interval the last answer stands (no Redis round trip per round).
    expect(await bp.mayRead()).toBe(true);
    expect(asked).toBe(1);
    now = 1000;
    expect(await bp.mayRead()).toBe(false);
    waiting = 99;
    now = 2000;
    expect(await bp.mayRead()).toBe(true);
    ready = false;
    expect(await bp.mayRead()).toBe(false);
    expect(lines.map((l) => l.msg)).toEqual(['reading resumed', 'reading paused (backpressure)', 'reading resumed', 'reading paused (backpressure)']);
    expect(lines[1]!.reason).toBe('queue backlog 100');
    expect(lines[3]!.reason).toBe('redis unreachable');
    expect(bp.paused()).toMatchObject({ cause: 'redis_unreachable', since: 2000 });
  });

  it('asks again within the interval once what it enqueued may have reached the mark', async () => {
    let waiting = 0;
    let enqueued = 0;
    let asked = 0;
    const bp = new Backpressure(
      { highWaterMark: 10, redisMemoryHighWater: 0.9 },
      {
        redisReady: () => true,
        backlog: async () => {
          asked++;
          return waiting;
        },
        enqueued: () => enqueued,
        logger: recordingLogger().logger,
        now: () => 0,
      },
    );
    expect(await bp.mayRead()).toBe(true);
    enqueued = 9;
    waiting = 9;
    expect(await bp.mayRead()).toBe(true);
    expect(asked).toBe(1);
    enqueued = 10;
    waiting = 10;
    // The clock has not moved: the estimate alone makes it ask, and the answer closes the tap.
    expect(await bp.mayRead()).toBe(false);
    expect(asked).toBe(2);
    // Paused, it waits for the interval again: no round trip per round.
    expect(await bp.mayRead()).toBe(false);
    expect(asked).toBe(2);
  });

  it('stops reading near Redis maxmemory and goes on once memory frees; no limit, no pause', async () => {
    let now = 0;
    const M = 1024 * 1024;
    let memory: { used: number; max: number } | null = { used: 80 * M, max: 100 * M };
    const { logger, lines } = recordingLogger();
    const bp = new Backpressure(
      { highWaterMark: 100, redisMemoryHighWater: 0.9 },
      { redisReady: () => true, backlog: async () => 0, redisMemory: async () => memory, logger, now: () => now },
    );
    expect(await bp.mayRead()).toBe(true);
    memory = { used: 90 * M, max: 100 * M };
    now = 1000;
    expect(await bp.mayRead()).toBe(false);
    expect(bp.paused()).toMatchObject({ cause: 'redis_memory', since: 1000 });
    memory = { used: 95 * M, max: 100 * M };
    now = 2000;
    expect(await bp.mayRead()).toBe(false);
    memory = { used: 10 ** 12, max: 0 };
    now = 3000;
    expect(await bp.mayRead()).toBe(true);
    memory = null;
    now = 4000;
    expect(await bp.mayRead()).toBe(true);
    expect(bp.paused()).toBeNull();
    // Said when it changes, not each check.
    expect(lines.map((l) => [l.msg, l.cause])).toEqual([
      ['reading resumed', undefined],
      ['reading paused (backpressure)', 'redis_memory'],
      ['reading resumed', undefined],
    ]);
    expect(lines[1]!.reason).toBe('redis memory 90.0 MiB of maxmemory 100.0 MiB');
  });
});

describe('RegistrySaver', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('saves at most every interval, keeps offsets through failed saves, logs a failure once a minute', async () => {
    const dir = await tempDir('saver');
    dirs.push(dir);
    let now = 10_000_000;
    const { registry } = await Registry.open(dir, () => now);
    const { logger, lines } = recordingLogger();
    const saver = new RegistrySaver(registry, 86_400_000, { logger, now: () => now });
    const id = { dev: 1, ino: 2, fpLen: 3, fpHash: 'a'.repeat(64) };
    registry.set('k', { ...id, path: '/x', offset: 10, goneSince: undefined });
    await saver.tick();
    expect(JSON.parse(await readFile(registry.file, 'utf8')).entries.k.offset).toBe(10);
    registry.set('k', { ...id, path: '/x', offset: 20, goneSince: undefined });
    now += 100;
    await saver.tick();
    expect(JSON.parse(await readFile(registry.file, 'utf8')).entries.k.offset).toBe(10);
    await saver.tick(true);
    expect(JSON.parse(await readFile(registry.file, 'utf8')).entries.k.offset).toBe(20);

    // The data directory turns into a file: every save fails (ENOTDIR).
    await rm(dir, { recursive: true });
    await writeFile(dir, '');
    for (let i = 0; i < 10; i++) {
      registry.set('k', { ...id, path: '/x', offset: 30 + i, goneSince: undefined });
      now += 1000;
      await saver.tick();
    }
    expect(saver.failures).toBe(10);
    expect(lines.filter((l) => l.msg.startsWith('cannot save the registry'))).toHaveLength(1);
    expect(registry.get('k')!.offset).toBe(39);
    now += 60_000;
    await saver.tick();
    const failed = lines.filter((l) => l.msg.startsWith('cannot save the registry'));
    expect(failed).toHaveLength(2);
    expect(failed[1]!.suppressed).toBe(9);

    await rm(dir);
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    now += 1000;
    await saver.tick();
    expect(lines.at(-1)!.msg).toBe('registry saved again');
    expect(JSON.parse(await readFile(registry.file, 'utf8')).entries.k.offset).toBe(39);
  });

  it('forgets files gone for longer than the cleanup age, checking once an hour', async () => {
    const dir = await tempDir('saver');
    dirs.push(dir);
    let now = 10_000_000;
    const { registry } = await Registry.open(dir, () => now);
    const { logger } = recordingLogger();
    const saver = new RegistrySaver(registry, 1000, { logger, now: () => now });
    const id = { dev: 1, ino: 2, fpLen: 3, fpHash: 'a'.repeat(64) };
    registry.set('gone', { ...id, path: '/x', offset: 10, goneSince: now });
    registry.set('live', { ...id, ino: 3, path: '/y', offset: 10, goneSince: undefined });
    await saver.tick();
    now += 2000;
    await saver.tick();
    expect(registry.get('gone')).toBeDefined();
    now += 3600_000;
    await saver.tick();
    expect(registry.get('gone')).toBeUndefined();
    expect(registry.get('live')).toBeDefined();
  });
});

describe('BacklogProgress', () => {
  it('reports catching up on a large backlog and says when it is shipped', async () => {
    let now = 0;
    const { logger, lines } = recordingLogger();
    const bp = new BacklogProgress({ logger, now: () => now });
    const MiB = 1024 * 1024;
    let read = 0;
    now += 20_000;
    await bp.tick(
      async () => 0,
      () => read,
    );
    // The first check sees the files after a round has read 20 MiB of them.
    read = 20 * MiB;
    for (const left of [180 * MiB, 150 * MiB, 100 * MiB, 10 * MiB, 1 * MiB]) {
      now += 20_000;
      await bp.tick(
        async () => left,
        () => read,
      );
    }
    const shown = lines.filter((l) => l.msg === 'shipping backlog').map((l) => l.percent);
    expect(shown).toEqual([10, 25, 50, 95]);
    expect(lines.filter((l) => l.msg === 'backlog shipped')).toEqual([expect.objectContaining({ bytes: 200 * MiB })]);
    // A small backlog is not progress worth a line.
    await bp.tick(
      async () => MiB,
      () => read,
    );
    expect(lines.filter((l) => l.msg === 'shipping backlog')).toHaveLength(4);
  });
});
