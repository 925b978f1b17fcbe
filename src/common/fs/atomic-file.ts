import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

// State files (shipper registry, rotation state) are replaced atomically: write a temp
// file, fsync it, keep the current file as `.prev`, rename the temp over, fsync the
// directory. Reading prefers a complete temp (it is newer than the file it was about to
// replace), then the file, then `.prev`; a torn or empty file never loses the state
// before it. Modelled on Vector's file-source checkpointer.

export interface StateCodec<T> {
  /** Returns the state, or throws when the text is not a complete, known version. */
  decode(text: string): T;
  encode(state: T): string;
}

export interface LoadedState<T> {
  state: T;
  from: 'tmp' | 'main' | 'prev';
  /** Candidates that existed but could not be decoded, with the reason. */
  rejected: { file: string; reason: string }[];
}

export async function readState<T>(path: string, codec: StateCodec<T>): Promise<LoadedState<T> | null> {
  const rejected: LoadedState<T>['rejected'] = [];
  for (const [suffix, from] of [
    ['.tmp', 'tmp'],
    ['', 'main'],
    ['.prev', 'prev'],
  ] as const) {
    const file = path + suffix;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      return { state: codec.decode(text), from, rejected };
    } catch (err) {
      rejected.push({ file, reason: (err as Error).message });
    }
  }
  if (rejected.length > 0) {
    // Every copy is unreadable: starting empty would silently re-ship or skip data.
    throw new Error(`no readable state at ${path}: ${rejected.map((r) => `${r.file}: ${r.reason}`).join('; ')}`);
  }
  return null;
}

export async function writeState<T>(path: string, codec: StateCodec<T>, state: T, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  // Created afresh, never opened through whatever is at the name: a link planted there
  // would otherwise be written through (issue #13).
  await unlink(tmp).catch(ignoreMissing);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(codec.encode(state), 'utf8');
    await handle.sync();
  } catch (err) {
    // A full disk: the torn temp would be read first next start (and rejected), and it
    // holds space the next attempt needs. The state before it is untouched.
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await keepPrevious(path);
  await rename(tmp, path);
  await fsyncPath(dir);
}

async function keepPrevious(path: string): Promise<void> {
  await unlink(`${path}.prev`).catch(ignoreMissing);
  await link(path, `${path}.prev`).catch(ignoreMissing);
}

/** fsync a file or a directory (a rename is durable once its directory is synced). */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
