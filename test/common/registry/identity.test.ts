import { open, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  baseKeyOf,
  FINGERPRINT_MAX,
  fingerprintOf,
  generationKey,
  generationOf,
  identify,
  identityKey,
  stillSameFile,
} from '../../../src/common/registry/identity.js';
import { tempDir } from '../../helpers/services.js';

describe('file identity', () => {
  it('fingerprints the first line, with no minimum size', () => {
    expect(fingerprintOf(Buffer.from('a\n'))).toMatchObject({ fpLen: 2 });
    expect(fingerprintOf(Buffer.from('no newline yet'))).toBeNull();
    expect(fingerprintOf(Buffer.from('no newline yet'), true)).toMatchObject({ fpLen: 14 });
    expect(fingerprintOf(Buffer.alloc(FINGERPRINT_MAX + 10, 'x'))).toMatchObject({ fpLen: FINGERPRINT_MAX });
  });

  it('stays the same while the file grows and across a rename', async () => {
    const dir = await tempDir('id');
    const a = join(dir, 'carbon.log');
    await writeFile(a, 'INFO:a:first\n');
    const h = await open(a, 'r');
    const id = (await identify(h))!;
    await writeFile(a, 'INFO:a:first\nINFO:a:second\n');
    const { rename } = await import('node:fs/promises');
    await rename(a, `${a}.1`);
    expect(await stillSameFile(h, id)).toBe(true);
    expect(identityKey((await identify(h))!)).toBe(identityKey(id));
    await h.close();
    await rm(dir, { recursive: true });
  });

  it('is not fooled by inode reuse: same inode, new content, new identity', async () => {
    const dir = await tempDir('id');
    const a = join(dir, 'carbon.log');
    await writeFile(a, 'INFO:a:old file\n');
    const h1 = await open(a, 'r');
    const old = (await identify(h1))!;
    await h1.close();
    await unlink(a);
    // Freed inodes are handed out again on most file systems; force the same-inode
    // case through truncate + rewrite, which is what reuse looks like from here.
    await writeFile(a, 'INFO:a:old file\n');
    const h2 = await open(a, 'r+');
    await truncate(a, 0);
    await writeFile(a, 'INFO:b:a different first line\n');
    const fresh = (await identify(h2))!;
    expect(identityKey(fresh)).not.toBe(identityKey(old));
    expect(await stillSameFile(h2, { ...old, ino: fresh.ino, dev: fresh.dev })).toBe(false);
    await h2.close();
    await rm(dir, { recursive: true });
  });

  it('gives a later file under a reused identity a generation key that sorts after the base', () => {
    const base = '1e68-i34b-a56a64e56868577b';
    const later = generationKey(base, Date.UTC(2026, 10, 27));
    expect(later.startsWith(`${base}~`)).toBe(true);
    expect(baseKeyOf(later)).toBe(base);
    expect(baseKeyOf(base)).toBe(base);
    expect(generationOf(base)).toBe(0);
    expect(generationOf(later)).toBeLessThan(generationOf(generationKey(base, Date.UTC(2026, 10, 28))));
    expect(generationOf(later)).toBeGreaterThan(generationOf(base));
  });
});
