import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The CLI where another user can run it. A checkout in /root (0700, as Debian and
// Ubuntu make it) is no place `nobody` or tta-user may read: a test that drops
// privileges runs a copy of what the CLI needs (its launcher, the bundle, the modules
// it loads at run time) in the run's scratch directory instead. Issue #35.

const NEEDED = ['bin', 'dist/bundle', 'package.json'];
// What the bundle loads from node_modules at run time: its externals (tools/bundle.mjs)
// and what the worker's heartbeat thread requires (worker/liveness/heartbeat.ts).
const RUNTIME_MODULES = ['ioredis', 'recheck', '@resvg/resvg-js'];

/** Those modules and every module they depend on, as installed. */
function moduleClosure(): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !existsSync(join('node_modules', name, 'package.json'))) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  for (const m of RUNTIME_MODULES) visit(m);
  return [...seen].map((m) => join('node_modules', m));
}
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
