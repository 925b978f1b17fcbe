import { pidAlive } from '../common/os/pid.js';
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';

// One rotation at a time per state file: a lock file created with O_EXCL holding the
// owner's pid. A lock whose pid no longer runs (kill -9) is stale and taken over.

export class LockedError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another rotation (pid ${pid}) holds ${path}; refusing to run`);
    this.name = 'LockedError';
  }
}

export async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readPid(path)).trim());
      if (pid > 0 && pidAlive(pid)) throw new LockedError(path, pid);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new LockedError(path, 0);
}

async function readPid(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!handle) return '';
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(32), 0, 32, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}
