import { lstat, realpath } from 'node:fs/promises';

// logrotate's symlink and hardlink CVEs, avoided: never follow a symlink, never act in a
// directory others can write to (they could swap a file for a link between our checks),
// never touch a file with other hard links, never act outside the configured directory.

export class UnsafeError extends Error {
  constructor(readonly path: string, reason: string, fix: string) {
    super(`refusing ${path}: ${reason} (${fix})`);
    this.name = 'UnsafeError';
  }
}

export async function checkDirectory(dir: string): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw new UnsafeError(dir, 'the directory is a symbolic link', 'configure its real path');
  if (!st.isDirectory()) throw new UnsafeError(dir, 'not a directory', 'check the rotation policy');
  if ((await realpath(dir)) !== dir) throw new UnsafeError(dir, `its real path is ${await realpath(dir)}`, 'configure the real path');
  if (st.mode & 0o002) {
    throw new UnsafeError(dir, `writable by other users (mode ${(st.mode & 0o7777).toString(8)})`, `chmod o-w ${dir}`);
  }
}

/** Why a file must be left alone, or null when it is a plain file we may act on. */
export async function unsafeFile(path: string): Promise<string | null> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return 'is a symbolic link; not followed';
  if (!st.isFile()) return 'is not a regular file';
  if (st.nlink > 1) return `has ${st.nlink} hard links`;
  return null;
}
