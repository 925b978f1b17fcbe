import { isRoot, run, which } from './process.js';

// What the launcher and the test setup need from Debian (redis-server; promtool,
// systemd-analyze and logrotate for the tests), installed with apt-get when missing and
// running as root, so a fresh machine needs no manual step. The package lists are
// refreshed only when an install fails without them.

export type Installed = { path: string } | { error: string };

export async function ensureCommand(command: string, pkg: string): Promise<Installed> {
  const found = await which(command);
  if (found) return { path: found };
  if (!isRoot()) return { error: `${command} is not installed (apt-get install -y ${pkg} as root)` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await run('apt-get', ['install', '-y', '-q', pkg], { env });
  if (r.code !== 0) {
    await run('apt-get', ['update', '-q']);
    r = await run('apt-get', ['install', '-y', '-q', pkg], { env });
  }
  const installed = await which(command);
  return installed ? { path: installed } : { error: `apt-get install ${pkg} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
}
