import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';

// Two rotators on one file is a migration state (the guide installs
// /etc/logrotate.d/tta-staging; tta-carbon rotates the same files): each renames what
// the other expects, and logrotate's compression can take a copy before the shipper is
// done with it. `health` names the logrotate file so the operator can end it.

export const LOGROTATE_CONFIGS = ['/etc/logrotate.conf', '/etc/logrotate.d'];

// Script blocks hold shell, whose braces are not logrotate's.
const SCRIPT_START = /^\s*(?:postrotate|prerotate|firstaction|lastaction|preremove)\s*$/;
const SCRIPT_END = /^\s*endscript\s*$/;

/** The path patterns logrotate rotates per a configuration text (the words before each `{`). */
export function logrotatePatterns(text: string): string[] {
  const out: string[] = [];
  let pending: string[] = [];
  let depth = 0;
  let inScript = false;
  for (const raw of text.split('\n')) {
    if (inScript) {
      inScript = !SCRIPT_END.test(raw);
      continue;
    }
    if (SCRIPT_START.test(raw)) {
      inScript = true;
      continue;
    }
    const line = raw.replace(/#.*$/, '');
    for (const token of line.match(/"[^"]*"|'[^']*'|\{|\}|[^\s{}]+/g) ?? []) {
      if (token === '{') {
        if (depth === 0) out.push(...pending);
        pending = [];
        depth++;
      } else if (token === '}') depth = Math.max(0, depth - 1);
      else if (depth === 0) {
        const word = token.replace(/^["']|["']$/g, '');
        if (word.startsWith('/')) pending.push(word);
        else pending = [];
      }
    }
  }
  return out;
}

export interface ForeignRotation {
  file: string;
  pattern: string;
  path: string;
}

/** Which logrotate files rotate any of `paths`. Unreadable files are skipped. */
export async function foreignRotations(paths: string[], configs: string[] = LOGROTATE_CONFIGS): Promise<ForeignRotation[]> {
  const files: string[] = [];
  for (const c of configs) {
    const names = await readdir(c).catch(() => null);
    if (names)
      files.push(
        ...names
          .filter((n) => !n.startsWith('.') && !/\.(dpkg-\w+|ucf-\w+|disabled|bak)$|~$/.test(n))
          .sort()
          .map((n) => join(c, n)),
      );
    else files.push(c);
  }
  const found: ForeignRotation[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    for (const pattern of logrotatePatterns(text)) {
      const matches = picomatch(pattern, { dot: true });
      for (const path of paths) if (matches(path)) found.push({ file, pattern, path });
    }
  }
  return found;
}
