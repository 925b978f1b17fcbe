import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registryDir } from '../../src/cutover/filebeat-registry.js';
import { Registry } from '../../src/shipper/registry.js';
import { importFilebeat } from '../../src/cutover/import-filebeat.js';
import { otherShippers } from '../../src/ops/other-shippers.js';
import { tempDir, waitFor } from '../helpers/services.js';

// `health` (and the package's postinst, via `health --others`) names a Filebeat still
// shipping the inputs, and a Filebeat registry whose offsets were never imported.

async function filebeatData(files: Record<string, number>) {
  const data = await tempDir('fbdata');
  const dir = registryDir(data);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), '{"version":"1"}');
  const states = Object.entries(files).map(([source, offset], i) => ({
    // Filebeat's native identity is the file's inode and device.
    _key: `filestream::carbon::native::${existsSync(source) ? `${statSync(source).ino}-${statSync(source).dev}` : `${100 + i}-2049`}`,
    meta: { source, identifier_name: 'native' },
    ttl: -1,
    cursor: { offset },
  }));
  writeFileSync(join(dir, '1.json'), JSON.stringify(states));
  writeFileSync(join(dir, 'active.dat'), join(dir, '1.json'));
  return data;
}

describe('other shippers', () => {
  it('no Filebeat data path: ok', async () => {
    const check = await otherShippers(['/nowhere/carbon.log'], await tempDir('ours'), join(await tempDir('fb'), 'missing'));
    expect(check.status).toBe('ok');
  });

  it('offsets for an input not imported: degraded, naming the file and the command; after the import: ok', async () => {
    const logs = await tempDir('logs');
    const log = join(logs, 'carbon.log');
    writeFileSync(log, 'a line\n');
    const data = await filebeatData({ [log]: 7, '/var/log/other/app.log': 10 });
    const ours = await tempDir('ours');
    await (await Registry.open(ours)).registry.persist();
    const before = await otherShippers([log], ours, data);
    expect(before.status).toBe('degraded');
    expect(before.detail).toContain(log);
    expect(before.detail).not.toContain('/var/log/other/app.log');
    expect(before.detail).toContain('tta-carbon import filebeat');
    const report = await importFilebeat(data, ours);
    expect(report.imported.map((i) => i.path)).toEqual([log]);
    expect((await otherShippers([log], ours, data)).status).toBe('ok');
  });

  it('a process holding filebeat.lock: degraded, with its pid', async () => {
    const data = await filebeatData({});
    const lock = join(data, 'filebeat.lock');
    writeFileSync(lock, '');
    const holder = spawn('/bin/sh', ['-c', `exec 3<"${lock}"; echo held; exec sleep 60`], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      let out = '';
      holder.stdout!.on('data', (d) => (out += d));
      await waitFor(() => out.includes('held'), 5000, 'the lock to be held');
      const check = await otherShippers([], await tempDir('ours'), data);
      expect(check.status).toBe('degraded');
      expect(check.detail).toContain(`pid ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
