import type { Stats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isRoot } from '../common/fs/safe-open.js';

// What rotation refuses, after logrotate and its CVEs (2011-1098, -1154, -1155,
// 2022-1348). Rotation may run as root over a directory another user owns (the guide
// chowns /var/log/tta/staging to tta-user). Root then acts only on descriptors it
// opened and checked (fd-ops.ts, gzip.ts), never on a path after checking it, and
// refuses:
// - a policy directory that is a symlink, not its own real path, or writable by everyone;
// - as root, a policy directory whose parents a non-root user can write (that user could
//   swap the directory for a symlink between two steps and send root's renames and
//   creates anywhere);
// - a file that is a symlink, not a regular file, has other hard links, or (as root) is
//   owned by someone other than root or the directory's owner;
// - as root, state (rotation-state.json, its temp, copy and lock, the shipper registry
//   it reads) in a directory or file a non-root user can write: the journal in it names
//   renames root carries out.

export class UnsafeError extends Error {
  constructor(
    readonly path: string,
    reason: string,
    fix: string,
  ) {
    super(`refusing ${path}: ${reason} (${fix})`);
    this.name = 'UnsafeError';
  }
}

/** Checks a policy's directory; returns its stat (whose owner files must have). */
export async function checkDirectory(dir: string): Promise<Stats> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw new UnsafeError(dir, 'the directory is a symbolic link', 'configure its real path');
  if (!st.isDirectory()) throw new UnsafeError(dir, 'not a directory', 'check the rotation policy');
  if ((await realpath(dir)) !== dir) throw new UnsafeError(dir, `its real path is ${await realpath(dir)}`, 'configure the real path');
  if (st.mode & 0o002) {
    throw new UnsafeError(dir, `writable by other users (mode ${(st.mode & 0o7777).toString(8)})`, `chmod o-w ${dir}`);
  }
  if (isRoot()) await checkAncestors(dir, `rotate as the directory's owner instead (sudo -u <owner> tta-carbon rotate), or give ${dirname(dir)} to root`);
  return st;
}

/** As root: no parent of `path` may be writable by a non-root user (sticky /tmp is fine). */
async function checkAncestors(path: string, fix: string): Promise<void> {
  for (let parent = dirname(path); ; parent = dirname(parent)) {
    const st = await lstat(parent);
    const sticky = (st.mode & 0o1000) !== 0 && st.uid === 0;
    if (st.uid !== 0) throw new UnsafeError(path, `its parent ${parent} belongs to uid ${st.uid}, who could replace it`, fix);
    if (st.mode & 0o022 && !sticky)
      throw new UnsafeError(path, `its parent ${parent} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`, fix);
    if (parent === dirname(parent)) return;
  }
}

/** Why a file must be left alone, or null when it is a plain file we may act on. */
export async function unsafeFile(path: string, dir?: Stats): Promise<string | null> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return 'is a symbolic link; not followed';
  if (!st.isFile()) return 'is not a regular file';
  return wrongFile(st, dir);
}

/** The checks on an opened file's fstat (or a path's lstat) beyond "regular file". */
export function wrongFile(st: Stats, dir?: Stats): string | null {
  if (st.nlink > 1) return `has ${st.nlink} hard links`;
  // In a root-owned directory no one else can write, whatever is there root put there:
  // the file `create` gave to tta-user, say. Elsewhere another user's file may be a plant.
  const rootOnly = dir !== undefined && dir.uid === 0 && (dir.mode & 0o022) === 0;
  if (isRoot() && dir && !rootOnly && st.uid !== 0 && st.uid !== dir.uid)
    return `belongs to uid ${st.uid}, neither root nor the directory's owner (uid ${dir.uid})`;
  return null;
}

/**
 * As root, the rotation state and what rotation reads beside it must be root's alone:
 * the data directory owned by root, written by nobody else, and each state file that
 * exists a regular file of root's that only root can write.
 */
export async function checkTrustedState(dataDir: string, files: string[]): Promise<void> {
  if (!isRoot()) return;
  const fix = `keep rotation state where only root writes (chown root:root ${dataDir} and its files, chmod go-w), or rotate as the log directory's owner (sudo -u <owner> tta-carbon rotate)`;
  const dir = await lstat(dataDir);
  if (!dir.isDirectory()) throw new UnsafeError(dataDir, 'the data directory is not a directory', fix);
  if (dir.uid !== 0) throw new UnsafeError(dataDir, `the data directory belongs to uid ${dir.uid}, who could write a journal root would carry out`, fix);
  if (dir.mode & 0o022) throw new UnsafeError(dataDir, `the data directory is writable by group or others (mode ${(dir.mode & 0o7777).toString(8)})`, fix);
  await checkAncestors(dataDir, fix);
  for (const file of files) {
    const st = await lstat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!st) continue;
    if (!st.isFile())
      throw new UnsafeError(file, `${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} where rotation keeps state`, `remove it; ${fix}`);
    if (st.uid !== 0) throw new UnsafeError(file, `belongs to uid ${st.uid}, not root`, fix);
    if (st.mode & 0o022) throw new UnsafeError(file, `writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`, fix);
  }
}
