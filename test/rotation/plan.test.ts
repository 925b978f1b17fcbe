import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rotationPolicySchema } from '../../src/common/config/schema.js';
import { planRotation } from '../../src/rotation/plan.js';
import { tempDir } from '../helpers/services.js';

// The plan is what the journal holds: decided from the directory as it is, before any
// step is taken.

describe('planRotation', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const now = new Date('2026-12-02T00:30:00Z');

  it('shifts numbered copies from the highest down, then renames, creates, runs postrotate, records', async () => {
    const dir = await tempDir('plan');
    dirs.push(dir);
    const log = join(dir, 'carbon.log');
    for (const n of ['carbon.log', 'carbon.log.1', 'carbon.log.2.gz']) await writeFile(join(dir, n), 'x\n');
    const policy = rotationPolicySchema.parse({ files: log, postrotate: 'true' });
    expect(await planRotation(log, policy, now)).toEqual([
      { op: 'rename', from: `${log}.2.gz`, to: `${log}.3.gz` },
      { op: 'rename', from: `${log}.1`, to: `${log}.2` },
      { op: 'rename', from: log, to: `${log}.1` },
      { op: 'create', path: log },
      { op: 'postrotate' },
      { op: 'record', path: log, at: now.toISOString() },
    ]);
  });

  it('with dateext and copytruncate: one copy under a dated name not yet taken, no create', async () => {
    const dir = await tempDir('plan');
    dirs.push(dir);
    const log = join(dir, 'carbon.log');
    const policy = rotationPolicySchema.parse({ files: log, dateext: true, copytruncate: true });
    await writeFile(log, 'x\n');
    const first = await planRotation(log, policy, now);
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ op: 'copytruncate', from: log });
    const target = (first[0] as { to: string }).to;
    expect(target.startsWith(`${log}-`)).toBe(true);
    // The name is taken (or its .gz is): the next plan picks another.
    await writeFile(`${target}.gz`, '');
    const second = await planRotation(log, policy, now);
    expect((second[0] as { to: string }).to).not.toBe(target);
  });
});
