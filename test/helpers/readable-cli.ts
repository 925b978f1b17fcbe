import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import { moduleClosure } from '../../tools/runtime-files.mjs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The CLI where another user can run it. A checkout in /root (0700, as Debian and
// Ubuntu make it) is no place `nobody` or tta-user may read: a test that drops
// privileges runs a copy of what the CLI needs (its launcher, the bundle, the modules
// it loads at run time) in the run's scratch directory instead. Issue #35.

const NEEDED = ['bin', 'dist/bundle', 'package.json'];
const copies = new Map<string, string>();

/** The directory to run `bin/tta-carbon.js` from as `as`: the checkout itself when that user can read it. */
export function cliDirFor(as: { uid: number; gid: number }): string {
  const key = `${as.uid}:${as.gid}`;
  const known = copies.get(key);
  if (known) return known;
  const launcher = resolve('bin/tta-carbon.js');
  const readable = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(launcher)}, require('fs').constants.R_OK)`], {
    ...as,
    stdio: 'ignore',
  });
  let dir = resolve('.');
  if (readable.status !== 0) {
    dir = mkdtempSync(join(tmpdir(), 'tta-cli-'));
    chmodSync(dir, 0o755);
    for (const part of [...NEEDED, ...moduleClosure()]) {
      if (!existsSync(part)) continue;
      // Source maps are the bulk of the bundle and nothing a run reads.
      cpSync(part, join(dir, part), { recursive: true, dereference: true, filter: (src) => !src.endsWith('.map') });
    }
    for (const node of ['bin', 'dist', 'dist/bundle', 'node_modules', 'node_modules/@resvg'])
      if (existsSync(join(dir, node))) chmodSync(join(dir, node), 0o755);
  }
  copies.set(key, dir);
  return dir;
}
