import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/services.js';

// systemd-analyze verify on copies of the units whose ExecStart points at this
// checkout's CLI (verify insists the executable exists); everything else is as shipped.

const units = readdirSync('deploy/systemd').filter((f) => f.endsWith('.service'));

async function verify(edit: (text: string) => string = (t) => t) {
  const dir = await tempDir('units');
  for (const u of units) {
    const text = readFileSync(join('deploy/systemd', u), 'utf8').replaceAll('/usr/local/bin/tta-carbon', resolve('bin/tta-carbon.js'));
    writeFileSync(join(dir, u), edit(text));
  }
  const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(dir, u))], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze not runnable: ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('systemd units', () => {
  it('has the agent (tta-staging-carbon), worker and scheduler units', () => {
    expect(units.sort()).toEqual(['tta-carbon-scheduler.service', 'tta-carbon-worker.service', 'tta-staging-carbon.service']);
  });

  it('each runs as tta-user, restarts, reloads with SIGHUP and is hardened', () => {
    for (const u of units) {
      const text = readFileSync(join('deploy/systemd', u), 'utf8');
      for (const line of [
        'User=tta-user',
        'Restart=always',
        'ExecReload=/bin/kill -HUP $MAINPID',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'PrivateTmp=yes',
        'CapabilityBoundingSet=',
      ]) {
        expect(text, `${u}: ${line}`).toContain(`\n${line}\n`);
      }
    }
    expect(readFileSync('deploy/systemd/tta-staging-carbon.service', 'utf8')).toContain('ExecStart=/usr/local/bin/tta-carbon agent\n');
    // V8 writes the code it compiles: MemoryDenyWriteExecute= would kill every process.
    for (const u of units) expect(readFileSync(join('deploy/systemd', u), 'utf8'), u).not.toMatch(/^MemoryDenyWriteExecute=/m);
  });

  it('systemd-analyze verify passes', async () => {
    const r = await verify();
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('systemd-analyze verify fails on a broken unit', async () => {
    const r = await verify((t) => t.replace('Restart=always', 'Restart=sometimes').replace(/ExecStart=\S+/, 'ExecStart=relative/tta-carbon'));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/Neither a valid executable name nor an absolute path/);
  });
});
