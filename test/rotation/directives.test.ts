import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig, type RotationPolicy } from '../../src/common/config/index.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { Rotator } from '../../src/rotation/rotator.js';
import { tempDir } from '../helpers/services.js';

// logrotate directives beyond the defaults: dateext, postrotate with sharedscripts,
// copytruncate, size, and whole-file archiving of codecarbon reports.

const logger = createLogger({ level: 'silent' });
const DAY = 86_400_000;

async function setup(policy: Partial<RotationPolicy>) {
  const dir = await tempDir('directives');
  mkdirSync(join(dir, 'log'), { mode: 0o755 });
  const config = loadConfig({ env: { TTA_LOG_DIR: join(dir, 'log'), TTA_DATA_DIR: join(dir, 'data') } });
  config.timeZone = 'UTC';
  // Nothing here is followed by a shipper: files rotate and compress freely.
  config.shipper.inputs = [];
  const files = policy.files ? join(dir, 'log', policy.files) : config.rotation.policies[0]!.files;
  config.rotation.policies = [{ ...config.rotation.policies[0]!, create: { mode: '0644' }, ...policy, files }];
  const at = (ms: number, force = false) => new Rotator(config, { now: () => new Date(ms), logger }).run({ force });
  return { dir, log: (n: string) => join(dir, 'log', n), at };
}

describe('rotation directives', () => {
  it('dateext names copies by date, and postrotate with sharedscripts runs once per run', async () => {
    const { dir, log, at } = await setup({ dateext: true, postrotate: `echo ran >> ${'$'}TTA_TEST_MARK`, sharedscripts: true, delaycompress: false });
    const mark = join(dir, 'mark');
    process.env.TTA_TEST_MARK = mark;
    writeFileSync(log('a.log'), 'INFO:a:1\n');
    writeFileSync(log('b.log'), 'INFO:b:1\n');
    const t0 = Date.UTC(2026, 2, 1, 12);
    await at(t0);
    const r = await at(t0 + DAY);
    expect(r.rotated.sort()).toEqual([log('a.log'), log('b.log')]);
    expect(readdirSync(join(dir, 'log')).sort()).toEqual(['a.log', 'a.log-20260302.gz', 'b.log', 'b.log-20260302.gz']);
    expect(readFileSync(mark, 'utf8')).toBe('ran\n');
    expect(gunzipSync(readFileSync(log('a.log-20260302.gz'))).toString()).toBe('INFO:a:1\n');
    delete process.env.TTA_TEST_MARK;
  });

  it('copytruncate keeps the inode of the live file and copies its content', async () => {
    const { log, at } = await setup({ copytruncate: true, compress: false });
    writeFileSync(log('c.log'), 'INFO:c:1\nINFO:c:2\n');
    const ino = statSync(log('c.log')).ino;
    await at(Date.now(), true);
    expect(statSync(log('c.log')).ino).toBe(ino);
    expect(statSync(log('c.log')).size).toBe(0);
    expect(readFileSync(log('c.log.1'), 'utf8')).toBe('INFO:c:1\nINFO:c:2\n');
  });

  it('size rotates only once the file is big enough; notifempty leaves an empty file', async () => {
    const { log, at } = await setup({ frequency: 'size', size: 100 });
    writeFileSync(log('s.log'), 'x'.repeat(50));
    await at(Date.now());
    expect((await at(Date.now())).rotated).toEqual([]);
    writeFileSync(log('s.log'), 'x'.repeat(150));
    expect((await at(Date.now())).rotated).toEqual([log('s.log')]);
    expect(existsSync(log('s.log.1'))).toBe(true);
    const empty = await setup({});
    writeFileSync(empty.log('e.log'), '');
    const r = await empty.at(Date.now(), true);
    expect(r.skipped).toContainEqual({ path: empty.log('e.log'), reason: 'empty (notifempty)' });
  });

  it('whole-file reports: compressed after a week, deleted after maxage, never renamed', async () => {
    const s = await setup({ files: '*.json', wholeFiles: true, frequency: 'weekly', maxage: 30, create: false });
    const now = Date.UTC(2026, 5, 1);
    const aged = (name: string, days: number) => {
      writeFileSync(s.log(name), '{"project_name":"x"}');
      utimesSync(s.log(name), new Date(now - days * DAY), new Date(now - days * DAY));
    };
    aged('emissions_fresh.json', 2);
    aged('emissions_week.json', 10);
    aged('emissions_old.json', 40);
    const r = await s.at(now);
    expect(r.compressed).toEqual([s.log('emissions_week.json.gz')]);
    expect(r.deleted).toEqual([s.log('emissions_old.json')]);
    expect(readdirSync(s.log('')).sort()).toEqual(['emissions_fresh.json', 'emissions_week.json.gz']);
  });
});
