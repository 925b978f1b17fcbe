import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import picomatch from 'picomatch';

// Inputs and rotation policies are a directory plus a file-name glob, like
// `/var/log/tta/staging/codecarbon/emissions_*.json`. Globbing only the last path
// segment keeps discovery to one readdir per directory and makes the set of watched
// directories explicit. Rotated and compressed siblings (carbon.log.1, .gz) do not match
// `carbon.log` and are never read as new files.
//
// The name is matched as glob(3) does for logrotate: `*`, `?`, `[...]` and `[!...]`
// (picomatch's posix mode), dot files included, no braces or extglobs. Parentheses
// are literal in glob(3) but a group to picomatch, so they are escaped first.
const OPTIONS: picomatch.PicomatchOptions = { dot: true, posix: true, nobrace: true, noextglob: true };
const WILDCARD = /[*?[]/;

export interface CompiledGlob {
  dir: string;
  pattern: string;
  /** Does a file name (no directory) match? */
  test: (name: string) => boolean;
}

export function compileGlob(path: string): CompiledGlob {
  const dir = dirname(path);
  const pattern = basename(path);
  if (WILDCARD.test(dir)) throw new Error(`${path}: only the file name may contain wildcards`);
  const regex = picomatch.makeRe(pattern.replace(/[()]/g, '\\$&'), OPTIONS);
  return { dir, pattern, test: (name) => regex.test(name) };
}

/** Is this a fixed path (no wildcards), followed before it exists? */
export function isLiteral(glob: CompiledGlob): boolean {
  return !WILDCARD.test(glob.pattern);
}

/** Does a full path fall under the glob (its directory, a matching name)? */
export function globMatches(glob: CompiledGlob, path: string): boolean {
  return dirname(path) === glob.dir && glob.test(basename(path));
}

/**
 * Files in the glob's directory whose names match; a missing directory is no files.
 * `compressed`: also `<match>.gz` (rotation's whole files, compressed in place).
 */
export async function expandGlob(glob: CompiledGlob, { compressed = false } = {}): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(glob.dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  const matches = (n: string) => glob.test(n) || (compressed && n.endsWith('.gz') && glob.test(n.slice(0, -3)));
  return names
    .filter(matches)
    .sort()
    .map((n) => `${glob.dir}/${n}`);
}
