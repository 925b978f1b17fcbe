// Prints the bin directory of the Node the package carries (tools/package.mjs's NODE),
// unpacked once into the user's cache: CI runs the test suite under it as well as
// under the machine's Node (issue #35).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NODE, nodeTarball } from './package.mjs';

const cache = join(homedir(), '.cache', 'tta-carbon', 'node');
const dir = join(cache, NODE.version);
if (!existsSync(join(dir, 'bin', 'node'))) {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', nodeTarball(cache), '-C', tmp, '--strip-components=1', 'package/bin/node']);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
console.log(join(dir, 'bin'));
