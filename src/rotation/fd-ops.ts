import { constants, type Stats } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { isRoot, openRegular } from '../common/fs/safe-open.js';
import { UnsafeError, wrongFile } from './safety.js';

// The file operations rotation does in a directory its owner may be tampering with,
// done on descriptors (see safety.ts for why): a source is opened once without
// following symlinks and checked with fstat; a new file is created with
// O_CREAT|O_EXCL|O_NOFOLLOW, so a planted name (a symlink to a root file, say) makes the
// create fail instead of writing through it; ownership and mode are set on the
// descriptor; copytruncate truncates the descriptor it copied, not whatever the path
// names by then.

const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A new file at `path`, never an existing one or a link's target; 0600 until set otherwise. `read`: also readable (to verify it). */
export async function createExclusive(path: string, { read = false } = {}): Promise<FileHandle> {
  try {
    return await open(path, CREATE_FLAGS | (read ? constants.O_RDWR : constants.O_WRONLY), 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' || (err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new UnsafeError(path, 'something is already there (a planted file or link?)', 'remove it and run again');
    }
    throw err;
  }
}

/** Opens a file rotation will read (and maybe truncate), checked as safety.ts says. */
export async function openChecked(path: string, dir: Stats | undefined, write = false): Promise<{ handle: FileHandle; st: Stats }> {
  let handle: FileHandle;
  try {
    handle = await openRegular(path, { write, singleLink: true });
  } catch (err) {
    if ((err as Error).name === 'NotRegularFileError') throw new UnsafeError(path, (err as Error).message, 'rotation acts on regular files only');
    throw err;
  }
  const st = await handle.stat();
  const wrong = wrongFile(st, dir);
  if (wrong) {
    await handle.close();
    throw new UnsafeError(path, wrong, "rotation acts on files of the directory's owner only");
  }
  return { handle, st };
}

/** The copy gets the original's owner and mode, like logrotate's. */
export async function matchOwnerAndMode(handle: FileHandle, like: Stats): Promise<void> {
  if (isRoot()) await handle.chown(like.uid, like.gid);
  await handle.chmod(like.mode & 0o7777);
}

/**
 * copytruncate: copy the live file to `target` (through `<target>.tmp`, fsynced, then
 * renamed), then truncate the live file's descriptor. A crash before the rename leaves
 * the live file whole; after it, the copy is complete and the truncate is redone.
 */
export async function copyTruncate(file: string, target: string, dir: Stats, targetExists: boolean): Promise<void> {
  const { handle: source, st } = await openChecked(file, dir, true);
  try {
    if (!targetExists) {
      const tmp = `${target}.tmp`;
      await unlink(tmp).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      const copy = await createExclusive(tmp);
      try {
        await copyAll(source, copy);
        await matchOwnerAndMode(copy, st);
        await copy.sync();
      } finally {
        await copy.close();
      }
      await rename(tmp, target);
    }
    await source.truncate(0);
  } finally {
    await source.close();
  }
}

async function copyAll(from: FileHandle, to: FileHandle): Promise<void> {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let position = 0; ; ) {
    const { bytesRead } = await from.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return;
    await to.write(buf, 0, bytesRead);
    position += bytesRead;
  }
}
