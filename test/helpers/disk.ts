import { execFileSync } from 'node:child_process';
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './services.js';

// A full disk on demand: a small tmpfs (mounting one takes root) and a filler file.

export const canMount = process.getuid?.() === 0;

/** A tmpfs of `mib` MiB at `<dir>/fs`, and how to take it down; null when this machine will not mount one. */
export async function smallDisk(label: string, mib: number): Promise<{ root: string; dir: string; remove: () => Promise<void> } | null> {
  const dir = await tempDir(label);
  const root = join(dir, 'fs');
  mkdirSync(root);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0755`, 'tmpfs', root], { stdio: 'pipe' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
  return {
    root,
    dir,
    async remove() {
      execFileSync('umount', ['-l', root], { stdio: 'pipe' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the disk under `root` until about `leave` bytes are free; returns the filler to remove. */
export function fill(root: string, leave = 0): string {
  const filler = join(root, 'filler');
  const { bavail, bsize } = statfsSync(root);
  writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return filler;
}
