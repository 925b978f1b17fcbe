import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGlob, expandGlob, globMatches, isLiteral } from '../../../src/common/fs/glob.js';
import { tempDir } from '../../helpers/services.js';

describe('compileGlob', () => {
  // glob(3) as logrotate uses it: these are the names an operator's pattern must match.
  const cases: [string, string, boolean][] = [
    ['emissions_*.json', 'emissions_2026.json', true],
    ['emissions_*.json', 'emissions_.json', true],
    ['emissions_*.json', 'emissions_a.json.gz', false],
    ['*.log', '.hidden.log', true],
    ['carbon.log', 'carbon.log', true],
    ['carbon.log', 'carbon.log.1', false],
    ['carbon.log', 'carbonXlog', false],
    ['report?.json', 'report1.json', true],
    ['report?.json', 'report12.json', false],
    ['[ab].csv', 'a.csv', true],
    ['[ab].csv', 'c.csv', false],
    ['[!x]y', 'ay', true],
    ['[!x]y', 'xy', false],
    ['run(1).log', 'run(1).log', true],
    ['run(1).log', 'run1.log', false],
    ['{a,b}.log', 'a.log', false],
    ['{a,b}.log', '{a,b}.log', true],
    ['a+b.log', 'a+b.log', true],
    ['a+b.log', 'aab.log', false],
  ];
  it.each(cases)('%s against %s is %s', (pattern, name, expected) => {
    expect(compileGlob(`/var/log/tta/${pattern}`).test(name)).toBe(expected);
  });

  it('allows wildcards only in the file name', () => {
    expect(() => compileGlob('/var/log/*/carbon.log')).toThrow(/only the file name/);
  });

  it('matches full paths by directory and name', () => {
    const g = compileGlob('/var/log/tta/staging/carbon*.log');
    expect(globMatches(g, '/var/log/tta/staging/carbon-a.log')).toBe(true);
    expect(globMatches(g, '/var/log/tta/other/carbon-a.log')).toBe(false);
    expect(globMatches(g, '/var/log/tta/staging/sub/carbon-a.log')).toBe(false);
    expect(isLiteral(g)).toBe(false);
    expect(isLiteral(compileGlob('/var/log/tta/staging/carbon.log'))).toBe(true);
  });
});

describe('expandGlob', () => {
  it('lists matching files, sorted, and their .gz when asked', async () => {
    const dir = await tempDir('glob');
    await mkdir(join(dir, 'emissions_dir.json'));
    for (const n of ['emissions_b.json', 'emissions_a.json', 'emissions_c.json.gz', 'other.json']) await writeFile(join(dir, n), '');
    const g = compileGlob(join(dir, 'emissions_*.json'));
    expect(await expandGlob(g)).toEqual(['emissions_a.json', 'emissions_b.json', 'emissions_dir.json'].map((n) => join(dir, n)));
    expect(await expandGlob(g, { compressed: true })).toContain(join(dir, 'emissions_c.json.gz'));
    expect(await expandGlob(compileGlob(join(dir, 'missing', '*.json')))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
