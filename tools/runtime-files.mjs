// What a copy of the CLI needs beside its bundle, for the package (tools/package.mjs)
// and for tests that run the CLI as a user who cannot read the checkout
// (test/helpers/readable-cli.ts): one list, so neither ships without a module it loads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The modules the bundle loads from node_modules at run time: its externals
 * (tools/bundle.mjs) and what the worker's heartbeat thread requires
 * (worker/liveness/heartbeat.ts).
 */
export const RUNTIME_MODULES = ['ioredis', 'recheck', '@resvg/resvg-js'];

/**
 * Optional platform packages no Linux x64 host loads: recheck falls back to its JVM
 * checker only when its native binary is missing, and the native one is shipped.
 */
const NOT_FOR_LINUX_X64 = /^(recheck-jar|recheck-(macos|windows)-.*|@resvg\/resvg-js-(?!linux-x64-gnu$).*)$/;

/** Those modules and every module they depend on, as installed under `root`/node_modules. */
export function moduleClosure(root = '.', { linuxX64Only = false } = {}) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || (linuxX64Only && NOT_FOR_LINUX_X64.test(name))) return;
    const manifest = join(root, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  for (const m of RUNTIME_MODULES) visit(m);
  return [...seen].map((m) => join('node_modules', m));
}
