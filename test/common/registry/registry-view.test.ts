import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generationKey, identify, identityKey } from '../../../src/common/registry/identity.js';
import { RegistryView } from '../../../src/common/registry/registry-view.js';
import { Registry } from '../../../src/shipper/registry.js';
import { tempDir } from '../../helpers/services.js';

describe('RegistryView', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function setup() {
    const dir = await tempDir('registry-view');
    dirs.push(dir);
    const path = join(dir, 'carbon.log');
    await writeFile(path, 'first line\nsecond line\n');
    const handle = await open(path, 'r');
    const id = (await identify(handle))!;
    const { registry } = await Registry.open(dir, () => 1000);
    return { dir, path, handle, id, registry };
  }

  it('reads what the shipper wrote: offsets by identity, the newest generation deciding', async () => {
    const { dir, path, handle, id, registry } = await setup();
    registry.set(identityKey(id), { ...id, path, offset: 11, goneSince: 500 });
    registry.set(generationKey(identityKey(id), 900), { ...id, path, offset: 23, goneSince: undefined });
    await registry.persist();
    const view = await RegistryView.open(dir);
    expect(await view.shippedOffset(handle)).toBe(23);
    expect(view.followed().map((e) => e.offset)).toEqual([23]);
    await handle.close();
  });

  it('does not take a file with the same inode but another first line for the one shipped', async () => {
    const { dir, path, handle, id, registry } = await setup();
    registry.set(identityKey(id), { ...id, fpHash: 'f'.repeat(64), path, offset: 23, goneSince: undefined });
    await registry.persist();
    expect(await (await RegistryView.open(dir)).shippedOffset(handle)).toBeUndefined();
    await handle.close();
  });

  it('is empty, not an error, where no shipper ran', async () => {
    const dir = await tempDir('registry-view');
    dirs.push(dir);
    const view = await RegistryView.open(dir);
    expect(view.followed()).toEqual([]);
  });
});
