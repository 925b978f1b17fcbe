import { ensureCommand } from '../../src/services/debian.js';
import { CODECARBON_VERSIONS, ensureCodecarbon } from '../helpers/codecarbon.js';
import { servicesDown, servicesEnv, servicesStatus, servicesUp, type ServiceName } from '../../src/services/launcher.js';

// Real Redis and Elasticsearch for the whole run: reuse what answers, start the rest,
// and on teardown stop only what this run started.
let startedHere: ServiceName[] = [];

// Debian tools the tests run against, installed like redis-server when missing.
const TOOLS: [command: string, pkg: string][] = [
  ['promtool', 'prometheus'],
  ['systemd-analyze', 'systemd'],
  ['logrotate', 'logrotate'],
  ['strace', 'strace'],
  // The package test: lintian judges the .deb; strip is what tools/package.mjs strips node with.
  ['lintian', 'lintian'],
  ['strip', 'binutils'],
  // The clean-machine test: a minimal Debian root to install the .deb in.
  ['mmdebstrap', 'mmdebstrap'],
  // The terminal tests: a real terminal to run the CLI in and read back.
  ['tmux', 'tmux'],
];

export async function setup(): Promise<void> {
  for (const [command, pkg] of TOOLS) {
    const r = await ensureCommand(command, pkg);
    console.log(`[tools] ${command}: ${'path' in r ? r.path : r.error}`);
  }
  for (const version of CODECARBON_VERSIONS) {
    const r = await ensureCodecarbon(version);
    console.log(`[tools] codecarbon ${version}: ${'python' in r ? r.python : r.error}`);
  }
  const env = servicesEnv();
  const before = await servicesStatus(env);
  await servicesUp(env, (line) => console.log(`[services] ${line}`));
  startedHere = before.filter((s) => !s.answering).map((s) => s.name);
}

export async function teardown(): Promise<void> {
  if (startedHere.length === 0) return;
  await servicesDown(servicesEnv(), (line) => console.log(`[services] ${line}`), startedHere);
}
