import { execFileSync } from 'node:child_process';
import { linkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotRegularFileError, openRegular } from '../../../src/common/fs/safe-open.js';
import { tempDir } from '../../helpers/services.js';

describe('openRegular', () => {
  it('opens a regular file; refuses a symlink unless told to follow it, and then only to a regular file', async () => {
    const dir = await tempDir('safeopen');
    writeFileSync(join(dir, 'f'), 'x\n');
    symlinkSync(join(dir, 'f'), join(dir, 'link'));
    symlinkSync('/dev/zero', join(dir, 'zero'));
    await (await openRegular(join(dir, 'f'))).close();
    await expect(openRegular(join(dir, 'link'))).rejects.toThrow(/is a symbolic link \(not followed/);
    await (await openRegular(join(dir, 'link'), { followSymlinks: true })).close();
    await expect(openRegular(join(dir, 'zero'), { followSymlinks: true })).rejects.toThrow(/is a character device/);
  });

  it('refuses a FIFO at once (no writer needed), a directory, and a second hard link when asked', async () => {
    const dir = await tempDir('safeopen');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    const started = Date.now();
    await expect(openRegular(join(dir, 'fifo'))).rejects.toBeInstanceOf(NotRegularFileError);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(openRegular(dir)).rejects.toThrow(/is a directory/);
    writeFileSync(join(dir, 'a'), 'x');
    linkSync(join(dir, 'a'), join(dir, 'b'));
    await expect(openRegular(join(dir, 'a'), { singleLink: true })).rejects.toThrow(/2 hard links/);
  });
});
