import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Registry } from '../../src/shipper/registry.js';

async function registryWith(offsets: number[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tta-reg-'));
  const { registry } = await Registry.open(dir);
  for (const offset of offsets) {
    registry.set('f', { dev: 1, ino: 2, fpLen: 3, fpHash: 'h', path: '/x', offset });
    await registry.persist();
  }
  return dir;
}

describe('registry on disk', () => {
  it('finds the newest generation of an identity, after a restart too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tta-reg-'));
    const { registry } = await Registry.open(dir);
    const id = { dev: 1, ino: 2, fpLen: 3, fpHash: 'h', path: '/x' };
    registry.set('k', { ...id, offset: 500, goneSince: 1 });
    registry.set('k~b', { ...id, offset: 70 });
    registry.set('k~a', { ...id, offset: 20, goneSince: 2 });
    registry.set('other', { ...id, ino: 3, offset: 9 });
    await registry.persist();
    const reopened = (await Registry.open(dir)).registry;
    expect(reopened.latest('k')?.[0]).toBe('k~b');
    expect(reopened.latest('k')?.[1].offset).toBe(70);
    expect(reopened.latest('none')).toBeUndefined();
  });

  it('round-trips and writes only when something changed', async () => {
    const dir = await registryWith([10, 20]);
    const { registry } = await Registry.open(dir);
    expect(registry.get('f')?.offset).toBe(20);
    expect(await registry.persist()).toBe(false);
    registry.set('f', { ...registry.get('f')!, offset: 20 });
    expect(await registry.persist()).toBe(false);
  });

  it('a crash between writing the temp file and the rename resumes from the temp file', async () => {
    const dir = await registryWith([10]);
    const file = join(dir, 'registry.json');
    const newer = JSON.parse(await readFile(file, 'utf8'));
    newer.entries.f.offset = 99;
    await writeFile(`${file}.tmp`, JSON.stringify(newer));
    const { registry, recoveredFrom } = await Registry.open(dir);
    expect(recoveredFrom).toBe('tmp');
    expect(registry.get('f')?.offset).toBe(99);
  });

  it('a torn temp file is ignored in favour of the last complete registry', async () => {
    const dir = await registryWith([10, 20]);
    const file = join(dir, 'registry.json');
    await writeFile(`${file}.tmp`, '{"version":1,"entries":{"f":{"off');
    const { registry, recoveredFrom, rejected } = await Registry.open(dir);
    expect(recoveredFrom).toBe('main');
    expect(rejected).toHaveLength(1);
    expect(registry.get('f')?.offset).toBe(20);
  });

  it('an empty registry file resumes from the previous good state', async () => {
    const dir = await registryWith([10, 20]);
    await writeFile(join(dir, 'registry.json'), '');
    const { registry, recoveredFrom } = await Registry.open(dir);
    expect(recoveredFrom).toBe('prev');
    expect(registry.get('f')?.offset).toBe(10);
  });

  it('refuses to start empty when every copy is unreadable', async () => {
    const dir = await registryWith([10]);
    await writeFile(join(dir, 'registry.json'), 'garbage');
    await writeFile(join(dir, 'registry.json.prev'), '');
    await expect(Registry.open(dir)).rejects.toThrow(/no readable state/);
  });

  it('prunes entries of files gone longer than the clean-up period', async () => {
    let now = 1_000;
    const dir = await mkdtemp(join(tmpdir(), 'tta-reg-'));
    const { registry } = await Registry.open(dir, () => now);
    registry.set('gone', { dev: 1, ino: 1, fpLen: 1, fpHash: 'a', path: '/a', offset: 1, goneSince: 1_000 });
    registry.set('live', { dev: 1, ino: 2, fpLen: 1, fpHash: 'b', path: '/b', offset: 1 });
    now = 5_000;
    expect(registry.prune(3_000)).toBe(1);
    expect([...registry.all().keys()]).toEqual(['live']);
  });
});
