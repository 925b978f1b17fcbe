import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';

// Opening a path in a directory another user can write, as someone who can read what
// that user cannot (root, or the shipper's own user): the path is looked at once with
// lstat, opened without following a last-component symlink (O_NOFOLLOW) and without
// blocking (O_NONBLOCK: a FIFO would otherwise hang the open, and with it every other
// input), and the descriptor is checked with fstat to be a regular file (a file renamed
// in between is harmless: what counts is what the descriptor holds). All
// later work uses the descriptor, never the path again. (logrotate's CVE-2011-1098 and
// CVE-2022-1348 were path re-use after a check.)

/** Why a path is not opened: it is not a regular file we may read. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(
    readonly path: string,
    readonly what: string,
  ) {
    super(`${path} is ${what}; only regular files are read`);
    this.name = 'NotRegularFileError';
  }
}

export interface SafeOpenOptions {
  /** Follow a symlink at the path (an operator's opt-in); the target must still be a regular file. */
  followSymlinks?: boolean;
  /** Open read-write (copytruncate truncates the descriptor it copied). */
  write?: boolean;
  /** Refuse files with more than one hard link (root must not act on a link to a file elsewhere). */
  singleLink?: boolean;
}

export function describeType(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return st.isFile() ? 'a regular file' : 'not a regular file';
}

/** Opens `path` as described above; throws NotRegularFileError, or the open's own error (ENOENT, EACCES). */
export async function openRegular(path: string, options: SafeOpenOptions = {}): Promise<FileHandle> {
  const seen = await lstat(path);
  if (seen.isSymbolicLink() && !options.followSymlinks) {
    throw new NotRegularFileError(path, 'a symbolic link (not followed; shipper.followSymlinks opts in)');
  }
  if (!seen.isSymbolicLink() && !seen.isFile()) throw new NotRegularFileError(path, describeType(seen));
  const flags = (options.write ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new NotRegularFileError(path, 'a symbolic link (swapped in after it was looked at)');
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, describeType(st));
    if (options.singleLink && st.nlink > 1) throw new NotRegularFileError(path, `a file with ${st.nlink} hard links`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Running with root's rights: every check that protects other users' files applies. */
export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}
