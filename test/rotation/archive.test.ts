import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { listArchive, pruneArchives } from '../../src/rotation/archive.js';
import { Rotator } from '../../src/rotation/rotator.js';
import { tempDir } from '../helpers/services.js';

// Issue #20: codecarbon files past maxage are archived (a dated, verified tar.gz in the
// backup directory) before they are deleted, as the guide's runbook does.

const logger = createLogger({ level: 'silent' });
const DAY = 86_400_000;

/** The entries of the archive at `path`, its descriptor closed after. */
async function listAt(path: string) {
  const handle = await open(path);
  try {
    return await listArchive(handle);
  } finally {
    await handle.close();
  }
}

/** name -> content of every entry in every archive of `dir`, gunzipping .gz entries. */
async function archived(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    expect(name, 'only finished archives').toMatch(/^codecarbon-\d{8}(-\d+)?\.tar\.gz$/);
    const handle = await open(join(dir, name));
    try {
      for (const e of await listArchive(handle)) out.set(e.name.replace(/\.gz$/, ''), [...(out.get(e.name.replace(/\.gz$/, '')) ?? []), name]);
    } finally {
      await handle.close();
    }
  }
  return out;
}

async function entryText(archive: string, entry: string): Promise<string> {
  const tar = await import('tar-stream');
  const extract = tar.default.extract();
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const e of extract) for await (const c of e as AsyncIterable<Buffer>) if (e.header.name === entry) chunks.push(c);
  })();
  extract.end(gunzipSync(readFileSync(archive)));
  await reading;
  const data = Buffer.concat(chunks);
  return (entry.endsWith('.gz') ? gunzipSync(data) : data).toString();
}

describe('archive before delete', () => {
  it('over 40 simulated days every deleted codecarbon file is in a verified archive', async () => {
    const dir = await tempDir('archive');
    const cc = join(dir, 'log', 'codecarbon');
    mkdirSync(cc, { recursive: true });
    const config = loadConfig({ env: { TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') } });
    config.shipper.inputs = [];
    const t0 = Date.UTC(2026, 2, 1, 12);
    const written = new Map<string, string>();
    for (let day = 0; day < 40; day++) {
      const now = t0 + day * DAY;
      for (let i = 0; i < 3; i++) {
        const name = `emissions_${day}_${i}.json`;
        const text = JSON.stringify({ project_name: 'TTA-Staging', day, i, total_emissions: day * 0.001 + i });
        writeFileSync(join(cc, name), text);
        utimesSync(join(cc, name), new Date(now), new Date(now));
        written.set(name, text);
      }
      const report = await new Rotator(config, { now: () => new Date(now), logger }).run();
      expect(report.errors).toEqual([]);
    }
    const backup = join(dir, 'log-backup');
    expect(config.rotation.archive.dir).toBe(backup);
    const inArchives = await archived(backup);
    const left = new Set(readdirSync(cc).map((n) => n.replace(/\.gz$/, '')));
    for (const [name, text] of written) {
      const where = inArchives.get(name);
      if (!left.has(name)) {
        expect(where, `${name} deleted without an archive`).toHaveLength(1);
        const entry = readdirSync(backup).includes(where![0]!) ? where![0]! : '';
        const entryName = (await listAt(join(backup, entry))).find((e) => e.name.replace(/\.gz$/, '') === name)!.name;
        expect(await entryText(join(backup, entry), entryName)).toBe(text);
      } else expect(where, `${name} is both kept and archived`).toBeUndefined();
    }
    // Files of the first ten days are past the 30-day maxage by day 40: archived, gone.
    expect(inArchives.size).toBeGreaterThanOrEqual(27);
    expect(readdirSync(backup).length).toBeGreaterThanOrEqual(9);
  }, 120_000);

  it('rotate --dry-run says what would be archived; old archives are pruned after keepDays', async () => {
    const dir = await tempDir('archive-dry');
    const cc = join(dir, 'log', 'codecarbon');
    mkdirSync(cc, { recursive: true });
    writeFileSync(join(cc, 'emissions_old.json'), '{}');
    utimesSync(join(cc, 'emissions_old.json'), new Date(Date.now() - 40 * DAY), new Date(Date.now() - 40 * DAY));
    const config = loadConfig({ env: { TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') } });
    config.shipper.inputs = [];
    const dry = await new Rotator(config, { now: () => new Date(), logger }).run({ dryRun: true });
    expect(dry.skipped).toContainEqual({ path: join(cc, 'emissions_old.json'), reason: `would archive into ${join(dir, 'log-backup')} and delete` });
    expect(existsSync(join(cc, 'emissions_old.json'))).toBe(true);
    await new Rotator(config, { now: () => new Date(), logger }).run();
    const [archive] = readdirSync(join(dir, 'log-backup'));
    utimesSync(join(dir, 'log-backup', archive!), new Date(Date.now() - 400 * DAY), new Date(Date.now() - 400 * DAY));
    expect(await pruneArchives({ dir: join(dir, 'log-backup'), prefix: 'codecarbon', keepDays: 365 }, new Date())).toEqual([join(dir, 'log-backup', archive!)]);
  });

  it('archiving many megabytes shows its progress: a log line with what is done of the total when not on a terminal', async () => {
    const dir = await tempDir('archive-progress');
    const cc = join(dir, 'log', 'codecarbon');
    mkdirSync(cc, { recursive: true });
    const old = new Date(Date.now() - 40 * DAY);
    let bytes = 0;
    for (let i = 0; i < 60; i++) {
      const text = `{"run":${i},"pad":"${randomBytes(150_000).toString('hex')}"}`;
      writeFileSync(join(cc, `emissions_${i}.json`), text);
      utimesSync(join(cc, `emissions_${i}.json`), old, old);
      bytes += text.length;
    }
    const yaml = join(dir, 'tta.yaml');
    writeFileSync(yaml, `shipper:\n  inputs:\n    - kind: log\n      paths: [${join(dir, 'log', 'carbon.log')}]\n`);
    const env = { ...process.env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data'), TTA_LOG_FORMAT: 'json' };
    const r = spawnSync(process.execPath, ['bin/tta-carbon.js', '--config', yaml, 'rotate'], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('archived 60 file(s) into');
    const shown = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => l.includes('"msg":"archiving 60 file(s) into'))
      .map((l) => JSON.parse(l) as { done: number; total: number; percent: number });
    expect(shown.length, r.stderr).toBeGreaterThanOrEqual(1);
    for (const l of shown) {
      expect(l.total).toBe(bytes);
      expect(l.done).toBeLessThanOrEqual(bytes);
    }
  });

  it('kill -9 during archiving loses nothing and leaves no half archive', async () => {
    const dir = await tempDir('archive-kill');
    const cc = join(dir, 'log', 'codecarbon');
    mkdirSync(cc, { recursive: true });
    const originals = new Map<string, string>();
    const old = new Date(Date.now() - 40 * DAY);
    // Big enough that archiving takes a while to land kills in.
    for (let i = 0; i < 100; i++) {
      const text = `{"run":${i},"pad":"${randomBytes(150_000).toString('hex')}"}`;
      writeFileSync(join(cc, `emissions_${i}.json`), text);
      utimesSync(join(cc, `emissions_${i}.json`), old, old);
      originals.set(`emissions_${i}.json`, text);
    }
    const yaml = join(dir, 'tta.yaml');
    writeFileSync(yaml, `shipper:\n  inputs:\n    - kind: log\n      paths: [${join(dir, 'log', 'carbon.log')}]\n`);
    const env = { ...process.env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') };
    const rotate = () => {
      const child = spawn(process.execPath, ['bin/tta-carbon.js', '--config', yaml, 'rotate'], { env, stdio: 'ignore' });
      return { child, exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))) };
    };
    const backup = join(dir, 'log-backup');
    const check = async () => {
      const inArchives = await archived(backup);
      for (const [name] of originals) expect(existsSync(join(cc, name)) || inArchives.has(name), `${name} lost`).toBe(true);
    };
    let kills = 0;
    const outcomes: Record<string, number> = {};
    for (let attempt = 0; attempt < 12 && readdirSync(cc).length > 0; attempt++) {
      const { child, exited } = rotate();
      await new Promise((resolve) => setTimeout(resolve, 300 + attempt * 120));
      if (child.exitCode === null && child.kill('SIGKILL')) kills++;
      await exited;
      // A temporary archive may be left; a finished name is only ever a complete archive.
      const finished = existsSync(backup) ? readdirSync(backup).filter((n) => n.endsWith('.tar.gz')) : [];
      const seen = `${existsSync(backup) && readdirSync(backup).some((n) => n.includes('.tmp-')) ? 'half archive left' : 'no half archive'}, ${finished.length} finished, ${readdirSync(cc).length} originals`;
      outcomes[seen] = (outcomes[seen] ?? 0) + 1;
      for (const name of finished) await listAt(join(backup, name));
      for (const name of existsSync(backup) ? readdirSync(backup) : [])
        expect(name).toMatch(/\.tar\.gz(\.tmp-\d+)?$|^codecarbon-\d{8}(-\d+)?\.tar\.gz\.tmp-\d+$/);
      const inArchives = new Set<string>();
      for (const name of finished) for (const e of await listAt(join(backup, name))) inArchives.add(e.name);
      for (const [name] of originals) expect(existsSync(join(cc, name)) || inArchives.has(name), `${name} lost after kill ${kills}`).toBe(true);
    }
    console.log('archive kill -9 outcomes:', outcomes);
    expect(kills).toBeGreaterThan(0);
    // Some kill landed while an archive was being written.
    expect(Object.keys(outcomes).some((k) => k.startsWith('half archive left'))).toBe(true);
    // A run left alone finishes the job and removes what a killed one left half done.
    expect(await rotate().exited).toBe(0);
    await check();
    expect(readdirSync(cc)).toEqual([]);
    const inArchives = await archived(backup);
    for (const [name, text] of originals) {
      const archive = inArchives.get(name)![0]!;
      expect(await entryText(join(backup, archive), name)).toBe(text);
    }
  }, 180_000);
});
