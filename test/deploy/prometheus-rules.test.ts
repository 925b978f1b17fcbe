import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/services.js';

// promtool from Debian's prometheus package (.ci/run installs it): the rules must load,
// their unit tests must pass, and a broken rule must be caught.

function promtool(args: string[], cwd = 'deploy/prometheus') {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool not runnable (${r.error.message}); install Debian's prometheus package`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('alert rules', () => {
  it('promtool check rules and check config pass', () => {
    const rules = promtool(['check', 'rules', 'tta-carbon-rules.yml']);
    expect(rules.out).toContain('SUCCESS: 11 rules found');
    expect(rules.code).toBe(0);
    expect(promtool(['check', 'config', 'prometheus.yml']).code).toBe(0);
  });

  it('promtool test rules: every alert fires when and only when expected', () => {
    const r = promtool(['test', 'rules', 'tta-carbon-rules.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it("names the guide's alerts and the pipeline ones", () => {
    const text = readFileSync('deploy/prometheus/tta-carbon-rules.yml', 'utf8');
    for (const name of [
      'CarbonComponentDown',
      'HighCarbonEmissions',
      'UnusualCarbonEmissions',
      'CarbonQueueBacklogGrowing',
      'CarbonDeadLetters',
      'CarbonShipperLagging',
      'CarbonNothingIndexed',
      'CarbonElasticsearchBlocksWrites',
      'CarbonWorkerDied',
      'CarbonRedisNearlyFull',
    ]) {
      expect(text).toContain(`alert: ${name}`);
    }
  });

  it('fails when a rule is broken', async () => {
    const dir = await tempDir('rules');
    cpSync('deploy/prometheus', dir, { recursive: true });
    const file = join(dir, 'tta-carbon-rules.yml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('(carbon_emissions_kg) > 1.0', '(carbon_emissions_kg) >'));
    expect(promtool(['check', 'rules', 'tta-carbon-rules.yml'], dir).code).not.toBe(0);
    writeFileSync(file, readFileSync('deploy/prometheus/tta-carbon-rules.yml', 'utf8').replace('(carbon_emissions_kg) > 1.0', '(carbon_emissions_kg) > 1.1'));
    expect(promtool(['test', 'rules', 'tta-carbon-rules.test.yml'], dir).code).not.toBe(0);
    // A fixed threshold on the ratio's input instead of the ratio fires for the steady kilogram project.
    writeFileSync(
      file,
      readFileSync('deploy/prometheus/tta-carbon-rules.yml', 'utf8').replace(
        'max by (project) (carbon_emissions_unusual_ratio) >= 5',
        'max by (project) (carbon_emissions_last_hour_kg) > 0.01',
      ),
    );
    expect(promtool(['test', 'rules', 'tta-carbon-rules.test.yml'], dir).code).not.toBe(0);
  });
});
