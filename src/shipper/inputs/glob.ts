import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

// Inputs are a directory plus a file-name glob (`*`, `?`, `[...]`), like
// `/var/log/tta/staging/codecarbon/emissions_*.json`. Globbing only the last path
// segment keeps discovery to one readdir per directory and makes the set of watched
// directories explicit. Rotated and compressed siblings (carbon.log.1, .gz) do not match
// `carbon.log` and are never read as new files.

export interface CompiledGlob {
  dir: string;
  pattern: string;
  regex: RegExp;
}

export function compileGlob(path: string): CompiledGlob {
  const dir = dirname(path);
  const pattern = basename(path);
  if (/[*?[]/.test(dir)) throw new Error(`${path}: only the file name may contain wildcards`);
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return { dir, pattern, regex: new RegExp(`^${re}$`) };
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
  const matches = (n: string) => glob.regex.test(n) || (compressed && n.endsWith('.gz') && glob.regex.test(n.slice(0, -3)));
  return names.filter(matches).sort().map((n) => `${glob.dir}/${n}`);
}
