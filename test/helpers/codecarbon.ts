import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { servicesEnv } from '../../src/services/launcher.js';
import { isRoot, run } from '../../src/services/process.js';

// The real Python codecarbon from PyPI, one virtualenv per version, kept beside the
// test services so a machine installs each once. OfflineEmissionsTracker needs no
// network once installed.

export const CODECARBON_VERSIONS = ['3.3.2', '2.8.4'] as const;
export type CodecarbonVersion = (typeof CODECARBON_VERSIONS)[number];

export function codecarbonPython(version: CodecarbonVersion, dir = servicesEnv().dir): string {
  return join(dir, `codecarbon-${version}`, 'bin', 'python');
}

/** Creates the virtualenv and installs codecarbon==version when it is not there yet. */
export async function ensureCodecarbon(version: CodecarbonVersion): Promise<{ python: string } | { error: string }> {
  const python = codecarbonPython(version);
  const ready = async () =>
    existsSync(python) &&
    (await run(python, ['-c', 'import codecarbon, sys; sys.exit(0 if codecarbon.__version__ == sys.argv[1] else 1)', version])).code === 0;
  if (await ready()) return { python };
  const venv = join(python, '..', '..');
  let r = await run('python3', ['-m', 'venv', '--clear', venv]);
  if (r.code !== 0) {
    // Debian splits venv out of python3.
    if (!isRoot()) return { error: `python3 -m venv failed (apt-get install -y python3-venv as root): ${r.stderr.trim()}` };
    await run('apt-get', ['install', '-y', '-q', 'python3-venv'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    r = await run('python3', ['-m', 'venv', '--clear', venv]);
    if (r.code !== 0) return { error: `python3 -m venv failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}` };
  }
  r = await run(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', `codecarbon==${version}`]);
  if (r.code !== 0 || !(await ready())) return { error: `pip install codecarbon==${version} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
  return { python };
}
