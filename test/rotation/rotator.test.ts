import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { finishCompression, gzipFile } from '../../src/rotation/gzip.js';
import { acquireLock, LockedError } from '../../src/rotation/lock.js';
import { Rotator } from '../../src/rotation/rotator.js';
import { Registry } from '../../src/shipper/registry.js';
import { identify, identityKey } from '../../src/common/registry/identity.js';
import { cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess, type ShipperProcess } from '../helpers/shipper.js';
import { rng } from '../helpers/random.js';

const DAY = 86_400_000;
const logger = createLogger({ level: 'silent' });
let teardown: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
  teardown = [];
});

function configFor(dir: string, extra: Record<string, string> = {}): Config {
  const c = loadConfig({ env: { TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data'), ...extra } });
  c.timeZone = 'UTC';
  return c;
}

async function committed(dir: string, file: string): Promise<number> {
  try {
    const reg = JSON.parse(await readFile(join(dir, 'data', 'registry.json'), 'utf8'));
    const ino = statSync(file).ino;
    return (
      (Object.values(reg.entries) as { ino: number; offset: number; goneSince?: number }[]).find((e) => e.ino === ino && e.goneSince === undefined)?.offset ??
      -1
    );
  } catch {
    return -1;
  }
}

describe('rotation over 40 simulated days with the shipper running', () => {
  it('keeps 30 copies, all gzip but the newest, the live file 0644, every byte in order', async () => {
    const names = uniqueNames('rot40');
    const dir = await tempDir('rot40');
    mkdirSync(join(dir, 'log'), { mode: 0o755 });
    chmodSync(join(dir, 'log'), 0o755);
    const live = join(dir, 'log', 'carbon.log');
    writeFileSync(live, '');
    const consumer = recordingConsumer(names.queue);
    const shipper: ShipperProcess = await startShipperProcess(names, dir, 'pollIntervalMs: 20\nrotatedGraceMs: 100\nbatch:\n  lingerMs: 10\n');
    teardown.push(async () => {
      await shipper.stop();
      await consumer.close();
      await cleanup(names, [dir]);
    });
    const config = configFor(dir);
    // The guide's `create 0644 tta-user tta-group`, with a user every machine has: as
    // root, the new live file is another user's in root's directory, and the next day's
    // rotation must still take it (it once refused it as a plant, and the log grew).
    const live0 = config.rotation.policies[0]!;
    if (live0.create) live0.create = { ...live0.create, owner: 'nobody', group: 'nogroup' };
    const start = Date.UTC(2026, 0, 1, 12);
    let written = '';
    for (let day = 0; day <= 41; day++) {
      let chunk = '';
      for (let j = 0; j < 50; j++) chunk += `INFO:src.components.carbon_component:day ${day} line ${j}\n`;
      appendFileSync(live, chunk);
      written += chunk;
      if (day === 41) break;
      const size = statSync(live).size;
      await waitFor(async () => (await committed(dir, live)) === size, 10_000, `day ${day} to be shipped`, 20);
      const report = await new Rotator(config, { now: () => new Date(start + day * DAY), logger }).run();
      expect(report.errors).toEqual([]);
    }
    const files = readdirSync(join(dir, 'log')).filter((f) => f.startsWith('carbon.log.'));
    expect(files.sort()).toEqual(['carbon.log.1', ...Array.from({ length: 29 }, (_, i) => `carbon.log.${i + 2}.gz`)].sort());
    expect(statSync(live).mode & 0o777).toBe(0o644);
    if (process.getuid?.() === 0) expect(statSync(live).uid).toBe(65534);
    let kept = '';
    for (let n = 30; n >= 2; n--) kept += gunzipSync(readFileSync(join(dir, 'log', `carbon.log.${n}.gz`))).toString();
    kept += readFileSync(join(dir, 'log', 'carbon.log.1'), 'utf8') + readFileSync(live, 'utf8');
    // Days 0..10 aged out; what is kept is exactly the rest of what was written, in order.
    expect(kept).toBe(written.slice(written.indexOf('day 11 line 0') - 'INFO:src.components.carbon_component:'.length));
  }, 120_000);
});

describe('rotation safety and coordination', () => {
  it('leaves a copy the shipper has not finished, and compresses it once shipped', async () => {
    const dir = await tempDir('unshipped');
    mkdirSync(join(dir, 'log'), { mode: 0o755 });
    const live = join(dir, 'log', 'carbon.log');
    const config = configFor(dir);
    const registryEntry = async (file: string, shippedBytes: number) => {
      const { registry } = await Registry.open(join(dir, 'data'));
      const { open } = await import('node:fs/promises');
      const h = await open(file, 'r');
      const id = (await identify(h, true))!;
      await h.close();
      registry.set(identityKey(id), { ...id, path: live, offset: shippedBytes });
      await registry.persist();
    };
    const rotate = (day: number) => new Rotator(config, { now: () => new Date(Date.UTC(2026, 0, 1 + day, 12)), logger }).run();
    writeFileSync(live, 'INFO:a:first generation\n');
    await registryEntry(live, 24);
    await rotate(0);
    await rotate(1); // carbon.log -> .1
    writeFileSync(live, 'INFO:a:second generation\n');
    await registryEntry(live, 5); // the shipper is behind on this one
    const r = await rotate(2); // .1 -> .2 (shipped, compressed), live -> .1 (not shipped)
    expect(r.compressed).toEqual([join(dir, 'log', 'carbon.log.2.gz')]);
    writeFileSync(live, 'INFO:a:third generation\n');
    await registryEntry(live, 25);
    const r3 = await rotate(3); // .1 (unshipped second generation) -> .2: must stay plain
    expect(existsSync(join(dir, 'log', 'carbon.log.2'))).toBe(true);
    expect(r3.skipped.find((s) => s.path.endsWith('carbon.log.2'))?.reason).toMatch(/not fully shipped yet \(20 bytes left\)/);
    await registryEntry(join(dir, 'log', 'carbon.log.2'), 25);
    const r4 = await new Rotator(config, { now: () => new Date(Date.UTC(2026, 0, 4, 13)), logger }).run();
    expect(r4.compressed).toContain(join(dir, 'log', 'carbon.log.2.gz'));
    expect(gunzipSync(readFileSync(join(dir, 'log', 'carbon.log.2.gz'))).toString()).toBe('INFO:a:second generation\n');
  });

  it('does not follow a planted symlink, and refuses a world-writable directory', async () => {
    const dir = await tempDir('unsafe');
    mkdirSync(join(dir, 'log'), { mode: 0o755 });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'secret.log'), 'do not touch\n');
    symlinkSync(join(dir, 'outside', 'secret.log'), join(dir, 'log', 'evil.log'));
    const config = configFor(dir);
    const rotator = new Rotator(config, { now: () => new Date(), logger });
    const r = await rotator.run({ force: true });
    expect(r.skipped).toContainEqual({ path: join(dir, 'log', 'evil.log'), reason: 'is a symbolic link; not followed' });
    expect(readdirSync(join(dir, 'outside'))).toEqual(['secret.log']);
    chmodSync(join(dir, 'log'), 0o777);
    const r2 = await rotator.run({ force: true });
    expect(r2.errors[0]!.reason).toMatch(/refusing .*log: writable by other users \(mode 777\) \(chmod o-w/);
  });

  it('a second instance on the same state refuses to run', async () => {
    const dir = await tempDir('lock');
    mkdirSync(join(dir, 'data'));
    const release = await acquireLock(join(dir, 'data', 'rotation-state.json.lock'));
    await expect(new Rotator(configFor(dir), { now: () => new Date(), logger }).run()).rejects.toBeInstanceOf(LockedError);
    await release();
  });
});

describe('gzip under kill -9', () => {
  it('20 kills at random points: always the original or a complete .gz, and the next run finishes', async () => {
    const dir = await tempDir('gzkill');
    const file = join(dir, 'carbon.log.2');
    const content = Buffer.from(Array.from({ length: 400_000 }, (_, i) => `INFO:x:line ${i} ${'y'.repeat(i % 50)}\n`).join(''));
    const rand = rng(7);
    const outcomes = new Map<string, number>();
    for (let k = 0; k < 20; k++) {
      writeFileSync(file, content);
      const child = spawn(process.execPath, ['-e', `import('./dist/rotation/gzip.js').then((m) => m.gzipFile(${JSON.stringify(file)}))`], { stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, 30 + rand() * 700));
      child.kill('SIGKILL');
      await exited;
      const hasOriginal = existsSync(file);
      const hasGz = existsSync(`${file}.gz`);
      expect(hasOriginal || hasGz).toBe(true);
      if (hasGz) expect(gunzipSync(readFileSync(`${file}.gz`)).equals(content)).toBe(true);
      if (hasOriginal) expect(readFileSync(file).equals(content)).toBe(true);
      const state = `${hasOriginal ? 'original' : ''}${hasGz ? '+gz' : ''}${existsSync(`${file}.gz.tmp`) ? '+tmp' : ''}`;
      outcomes.set(state, (outcomes.get(state) ?? 0) + 1);
      await finishCompression(file);
      if (existsSync(file)) await gzipFile(file);
      expect(existsSync(file)).toBe(false);
      expect(existsSync(`${file}.gz.tmp`)).toBe(false);
      expect(gunzipSync(readFileSync(`${file}.gz`)).equals(content)).toBe(true);
      const { unlinkSync } = await import('node:fs');
      unlinkSync(`${file}.gz`);
    }
    console.log('gzip kill -9 outcomes:', Object.fromEntries(outcomes));
  }, 120_000);
});
