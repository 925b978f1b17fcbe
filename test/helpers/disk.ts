import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './services.js';

// A full disk on demand: a small tmpfs (mounting one takes root) and a filler file.

export const canMount = process.getuid?.() === 0;

/** A tmpfs of `mib` MiB mounted at `path` (made if missing); false when this machine will not mount one. */
export function mountTmpfs(path: string, mib: number): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0755`, 'tmpfs', path], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function unmount(path: string): void {
  execFileSync('umount', ['-l', path], { stdio: 'pipe' });
}

/** A tmpfs of `mib` MiB at `<dir>/fs`, and how to take it down; null when this machine will not mount one. */
export async function smallDisk(label: string, mib: number): Promise<{ root: string; dir: string; remove: () => Promise<void> } | null> {
  const dir = await tempDir(label);
  const root = join(dir, 'fs');
  if (!mountTmpfs(root, mib)) {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  return {
    root,
    dir,
    async remove() {
      unmount(root);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Fills the disk under `root` until about `leave` bytes are free, or until it takes no
 * more (others write to it too: running out is the point, not an error); returns the
 * filler to remove.
 */
export function fill(root: string, leave = 0): string {
  const filler = join(root, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) {
      const { bavail, bsize } = statfsSync(root);
      const room = bavail * bsize - leave;
      if (room <= 0) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, room));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return filler;
}
