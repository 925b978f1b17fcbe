import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Issue #36: every command says how it is used, with an example, and exits 0 on --help.
const COMMANDS = [
  ['run'],
  ['shipper'],
  ['worker'],
  ['agent'],
  ['scheduler'],
  ['health'],
  ['report'],
  ['rotate'],
  ['retention'],
  ['import', 'filebeat'],
  ['status'],
  ['dead-letters', 'list'],
  ['dead-letters', 'show'],
  ['dead-letters', 'replay'],
  ['failed', 'list'],
  ['failed', 'retry'],
  ['failed', 'drop'],
  ['services'],
];

describe('--help', () => {
  it.each(COMMANDS.map((c) => [c.join(' '), c] as const))('%s: usage and an example', (_name, command) => {
    const r = spawnSync(process.execPath, ['bin/tta-carbon.js', ...command, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH! } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tta-carbon /);
    expect(r.stdout).toMatch(/\nExamples?[^\n]*:\n {2}\S/);
  });
});
