import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import escapeRegExp from 'escape-string-regexp';
import { UnsafeError } from './safety.js';

// The rotated copies of a live file, by the names rotation gives them. Anything else
// under such a name (a symlink, a FIFO, a directory) is a plant: rotation would rename
// onto it or skip the rename and report success (issue #13), so it is refused, named.

/** carbon.log.N and carbon.log.N.gz by N. */
export async function numberedCopies(file: string): Promise<Map<number, string>> {
  const re = new RegExp(`^${escapeRegExp(basename(file))}\\.(\\d+)(\\.gz)?$`);
  const out = new Map<number, string>();
  for (const entry of await readdir(dirname(file))) {
    const m = re.exec(entry);
    if (!m) continue;
    const path = join(dirname(file), entry);
    await mustBeRegular(path);
    out.set(Number(m[1]), path);
  }
  return out;
}

/** carbon.log-YYYYMMDD[...][.gz], newest first (the suffix sorts by date). */
export async function datedCopies(file: string): Promise<string[]> {
  const re = new RegExp(`^${escapeRegExp(basename(file))}-\\d{8}(?:-\\d{6})?(?:-\\d+)?(\\.gz)?$`);
  const entries = (await readdir(dirname(file)))
    .filter((e) => re.test(e))
    .sort()
    .reverse();
  const out = entries.map((e) => join(dirname(file), e));
  for (const path of out) await mustBeRegular(path);
  return out;
}

async function mustBeRegular(path: string): Promise<void> {
  const st = await lstat(path);
  if (!st.isFile())
    throw new UnsafeError(
      path,
      `${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} under a name rotation gives its copies`,
      'remove it; nothing was rotated',
    );
}

/** Anything at `path`, a dangling symlink included. */
export async function present(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
