import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { listArchive } from '../../src/rotation/archive.js';
import { Rotator } from '../../src/rotation/rotator.js';
import { canMount, fill, smallDisk as mountSmallDisk } from '../helpers/disk.js';

// Issue #34: the disk under the log dir full while rotation gzips a copy or archives
// codecarbon files. Originals kept byte for byte, no half file under a final name (nor a
// partial one left holding the space), and the next run, with room again, finishes.
// A small tmpfs is the full disk: mounting one takes root.

const logger = createLogger({ level: 'silent' });
const DAY = 86_400_000;
const MiB = 1024 * 1024;
let unmount: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of unmount.reverse()) await fn().catch(() => undefined);
  unmount = [];
});

async function smallDisk(label: string, mib: number) {
  const disk = await mountSmallDisk(label, mib);
  if (disk) unmount.push(disk.remove);
  return disk;
}

/** Lines that gzip cannot shrink much: random base64. */
function noise(bytes: number): string {
  return `${randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .replace(/.{76}/g, '$&\n')}\n`;
}

function configFor(log: string, data: string): Config {
  const c = loadConfig({ env: { TTA_LOG_DIR: log, TTA_DATA_DIR: data } });
  c.timeZone = 'UTC';
  // Rotation alone: no shipper registry to wait for.
  c.shipper.inputs = [];
  return c;
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => /tmp/.test(n));
}

describe('the disk under the log dir full', () => {
  it.skipIf(!canMount)('while a rotated copy is gzipped: the copy kept whole, no .gz, and the next run compresses it', async (ctx) => {
    const disk = await smallDisk('full-gzip', 8);
    if (!disk) return ctx.skip();
    const log = join(disk.root, 'log');
    mkdirSync(log);
    const config = configFor(log, join(disk.dir, 'data'));
    const live = join(log, 'carbon.log');
    const t0 = Date.UTC(2026, 5, 1, 12);
    const first = noise(2 * MiB);
    const second = noise(2 * MiB);
    writeFileSync(live, first);
    // The first run notes the file, the second rotates it: carbon.log.1 is due for gzip next.
    expect((await new Rotator(config, { now: () => new Date(t0), logger }).run()).errors).toEqual([]);
    expect((await new Rotator(config, { now: () => new Date(t0 + DAY), logger }).run()).rotated).toEqual([live]);
    expect(readFileSync(join(log, 'carbon.log.1'), 'utf8')).toBe(first);
    appendFileSync(live, second);

    const filler = fill(disk.root, 256 * 1024);
    const full = await new Rotator(config, { now: () => new Date(t0 + 2 * DAY), logger }).run();
    expect(full.errors.map((e) => e.reason).join('\n')).toMatch(/ENOSPC/);
    expect(readFileSync(join(log, 'carbon.log.2'), 'utf8')).toBe(first);
    expect(readFileSync(join(log, 'carbon.log.1'), 'utf8')).toBe(second);
    expect(existsSync(join(log, 'carbon.log.2.gz'))).toBe(false);
    expect(leftovers(log)).toEqual([]);
    expect(existsSync(live)).toBe(true);

    rmSync(filler);
    const after = await new Rotator(config, { now: () => new Date(t0 + 2 * DAY + 60_000), logger }).run();
    expect(after.errors).toEqual([]);
    expect(gunzipSync(readFileSync(join(log, 'carbon.log.2.gz'))).toString()).toBe(first);
    expect(existsSync(join(log, 'carbon.log.2'))).toBe(false);
    expect(readFileSync(join(log, 'carbon.log.1'), 'utf8')).toBe(second);
    expect(leftovers(log)).toEqual([]);
  });

  it.skipIf(!canMount)('while codecarbon files are archived: originals kept, no archive under its final name, the next run archives them', async (ctx) => {
    const disk = await smallDisk('full-archive', 8);
    if (!disk) return ctx.skip();
    const log = join(disk.root, 'log');
    const cc = join(log, 'codecarbon');
    mkdirSync(cc, { recursive: true });
    const config = configFor(log, join(disk.dir, 'data'));
    const backup = config.rotation.archive.dir;
    expect(backup.startsWith(disk.root)).toBe(true);
    const old = new Date(Date.now() - 40 * DAY);
    const originals = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const name = `emissions_${i}.json`;
      const text = JSON.stringify({ project_name: 'TTA-Staging', run_id: i, pad: noise(MiB) });
      writeFileSync(join(cc, name), text);
      utimesSync(join(cc, name), old, old);
      originals.set(name, text);
    }

    const filler = fill(disk.root, 512 * 1024);
    const full = await new Rotator(config, { now: () => new Date(), logger }).run();
    expect(full.errors.map((e) => e.reason).join('\n')).toMatch(/ENOSPC/);
    for (const [name, text] of originals) expect(readFileSync(join(cc, name), 'utf8'), name).toBe(text);
    expect(existsSync(backup) ? readdirSync(backup) : []).toEqual([]);

    rmSync(filler);
    const after = await new Rotator(config, { now: () => new Date(), logger }).run();
    expect(after.errors).toEqual([]);
    const archives = readdirSync(backup);
    expect(archives).toHaveLength(1);
    expect(archives[0]).toMatch(/^codecarbon-\d{8}\.tar\.gz$/);
    const handle = await open(join(backup, archives[0]!));
    try {
      const entries = await listArchive(handle);
      expect(entries.map((e) => e.name.replace(/\.gz$/, '')).sort()).toEqual([...originals.keys()].sort());
    } finally {
      await handle.close();
    }
    expect(readdirSync(cc)).toEqual([]);
  });
});
