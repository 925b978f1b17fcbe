import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import { moduleClosure } from '../../tools/runtime-files.mjs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The CLI where another user can run it. A checkout in /root (0700, as Debian and
// Ubuntu make it) is no place `nobody` or tta-user may read: a test that drops
// privileges runs a copy of what the CLI needs (its launcher, the bundle, the modules
// it loads at run time) in the run's scratch directory instead. Issue #35.

const NEEDED = ['bin', 'dist/bundle', 'package.json'];
const copies = new Map<string, { cwd: string; node: string }>();

/**
 * Where to run `bin/tta-carbon.js` from as `as`, and with which node: the checkout and
 * this process's node when that user can read them. A node under /root (the package's
 * Node 24 that CI unpacks into root's cache) is copied like the CLI.
 */
export function cliFor(as: { uid: number; gid: number }): { cwd: string; node: string } {
  const key = `${as.uid}:${as.gid}`;
  const known = copies.get(key);
  if (known) return known;
  const may = (test: '-r' | '-x', path: string) => spawnSync('/usr/bin/test', [test, path], { ...as, stdio: 'ignore' }).status === 0;
  let cwd = resolve('.');
  let node = process.execPath;
  if (!may('-r', resolve('bin/tta-carbon.js')) || !may('-x', node)) {
    cwd = mkdtempSync(join(tmpdir(), 'tta-cli-'));
    chmodSync(cwd, 0o755);
    for (const part of [...NEEDED, ...moduleClosure()]) {
      if (!existsSync(part)) continue;
      // Source maps are the bulk of the bundle and nothing a run reads.
      cpSync(part, join(cwd, part), { recursive: true, dereference: true, filter: (src) => !src.endsWith('.map') });
    }
    for (const d of ['bin', 'dist', 'dist/bundle', 'node_modules', 'node_modules/@resvg']) if (existsSync(join(cwd, d))) chmodSync(join(cwd, d), 0o755);
    if (!may('-x', node)) {
      node = join(cwd, 'node');
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
    }
  }
  const found = { cwd, node };
  copies.set(key, found);
  return found;
}
