import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { Rotator } from '../../src/rotation/rotator.js';
import { loadRotationState, saveRotationState } from '../../src/rotation/state.js';
import { tempDir } from '../helpers/services.js';

const logger = createLogger({ level: 'silent' });

async function setup() {
  const dir = await tempDir('journal');
  mkdirSync(join(dir, 'log'), { mode: 0o755 });
  const config = loadConfig({ env: { TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') } });
  config.timeZone = 'UTC';
  return { dir, config, log: join(dir, 'log', 'carbon.log') };
}

describe('rotation journal', () => {
  it('a crash in the middle of a rotation: the next run finishes it without repeating done steps', async () => {
    const { config, log } = await setup();
    writeFileSync(`${log}.2.gz`, 'old-2');
    writeFileSync(`${log}.1`, 'old-1\n');
    writeFileSync(log, 'INFO:a:live\n');
    const state = await loadRotationState(config.dataDir);
    state.lastRotated[log] = '2026-01-01T00:00:00.000Z';
    // Planned: .2.gz -> .3.gz, .1 -> .2, live -> .1, create, record. The crash came after
    // the first two renames, before the journal recorded the second.
    state.journal = {
      policy: 0,
      file: log,
      done: 1,
      steps: [
        { op: 'rename', from: `${log}.2.gz`, to: `${log}.3.gz` },
        { op: 'rename', from: `${log}.1`, to: `${log}.2` },
        { op: 'rename', from: log, to: `${log}.1` },
        { op: 'create', path: log },
        { op: 'record', path: log, at: '2026-01-02T00:05:00.000Z' },
      ],
    };
    const { renameSync } = await import('node:fs');
    renameSync(`${log}.2.gz`, `${log}.3.gz`);
    renameSync(`${log}.1`, `${log}.2`);
    await saveRotationState(config.dataDir, state);

    await new Rotator(config, { now: () => new Date('2026-01-02T00:10:00Z'), logger }).run();
    expect(readFileSync(`${log}.3.gz`, 'utf8')).toBe('old-2');
    expect(readFileSync(`${log}.1`, 'utf8')).toBe('INFO:a:live\n');
    // No shipper has read old-1 (no registry), so it stays uncompressed for now.
    expect(readFileSync(`${log}.2`, 'utf8')).toBe('old-1\n');
    expect(statSync(log).size).toBe(0);
    const after = await loadRotationState(config.dataDir);
    expect(after.journal).toBeNull();
    expect(after.lastRotated[log]).toBe('2026-01-02T00:05:00.000Z');
  });

  it('a restart neither repeats nor skips: the same day twice rotates once, the next day again', async () => {
    const { config, log } = await setup();
    writeFileSync(log, 'INFO:a:x\n');
    const at = (iso: string) => new Rotator(config, { now: () => new Date(iso), logger }).run();
    await at('2026-01-01T10:00:00Z');
    expect((await at('2026-01-02T00:30:00Z')).rotated).toEqual([log]);
    writeFileSync(log, 'INFO:a:y\n');
    expect((await at('2026-01-02T23:00:00Z')).rotated).toEqual([]);
    expect((await at('2026-01-03T00:01:00Z')).rotated).toEqual([log]);
  });

  it.skipIf(process.getuid?.() !== 0)('creates the new file with the configured owner and group when root', async () => {
    const { config, log } = await setup();
    config.rotation.policies[0]!.create = { mode: '0640', owner: 'nobody', group: 'nogroup' };
    writeFileSync(log, 'INFO:a:x\n');
    await new Rotator(config, { now: () => new Date(), logger }).run({ force: true });
    const st = statSync(log);
    const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout);
    expect(st.uid).toBe(uid);
    expect(st.mode & 0o777).toBe(0o640);
  });

  it('tta-carbon rotate --dry-run prints the plan and changes nothing', async () => {
    const { dir, log } = await setup();
    writeFileSync(log, 'INFO:a:x\n');
    const env = { ...process.env, TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') };
    const r = spawnSync(process.execPath, ['bin/tta-carbon.js', 'rotate', '--dry-run', '--force'], { env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`would rotate ${log}`);
    expect(r.stdout).toContain(`would rename ${log} to ${log}.1`);
    expect(existsSync(`${log}.1`)).toBe(false);
    expect(existsSync(join(dir, 'data', 'rotation-state.json'))).toBe(false);
  });
});
