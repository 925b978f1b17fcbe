import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/common/config/index.js';

async function yamlFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tta-config-'));
  const file = join(dir, 'c.yaml');
  await writeFile(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the staging guide defaults with no file and no environment', () => {
    const c = loadConfig({ env: {} });
    expect(c.environment).toBe('staging');
    expect(c.logDir).toBe('/var/log/tta/staging');
    expect(c.codecarbonDir).toBe('/var/log/tta/staging/codecarbon');
    expect(c.elasticsearch.indexPrefix).toBe('tta-staging-carbon');
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.shipper.inputs).toEqual([
      { kind: 'log', paths: ['/var/log/tta/staging/carbon.log'] },
      { kind: 'report', paths: ['/var/log/tta/staging/codecarbon/emissions_*.json', '/var/log/tta/staging/codecarbon/boamps_report_*.json'] },
      { kind: 'csv', paths: ['/var/log/tta/staging/codecarbon/emissions.csv'] },
    ]);
  });

  it('derives directories and the index prefix from TTA_ENV, and env beats the file', async () => {
    const file = await yamlFile('environment: production\nlogLevel: debug\n');
    const c = loadConfig({ file, env: { TTA_ENV: 'qa', CARBON_MEASUREMENT_INTERVAL: '15', CARBON_OUTPUT_DIR: '/cc' } });
    expect(c.environment).toBe('qa');
    expect(c.logLevel).toBe('debug');
    expect(c.logDir).toBe('/var/log/tta/qa');
    expect(c.codecarbonDir).toBe('/cc');
    expect(c.project.measurementIntervalSeconds).toBe(15);
    expect(c.elasticsearch.indexPrefix).toBe('tta-qa-carbon');
  });

  it('reads TTA_CONFIG when no --config is given, and resolves relative paths from cwd', async () => {
    const file = await yamlFile('logDir: ./var/log\n');
    const c = loadConfig({ env: { TTA_CONFIG: file }, cwd: '/srv/app' });
    expect(c.logDir).toBe('/srv/app/var/log');
  });

  it('rejects an unknown key and names it, nested too', async () => {
    const file = await yamlFile('shipper:\n  pollIntervalMS: 10\nbogus: 1\n');
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    expect(problems.join('\n')).toContain('shipper.pollIntervalMS: unknown key');
    expect(problems.join('\n')).toContain('bogus: unknown key');
  });

  it('names the variable, the value and the expectation for a bad ELASTICSEARCH_URL', () => {
    const problems = problemsOf(() => loadConfig({ env: { ELASTICSEARCH_URL: 'not a url' } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ELASTICSEARCH_URL \(elasticsearch\.url\): got "not a url", .*URL/);
  });

  it('never prints a password from a bad value', () => {
    const problems = problemsOf(() => loadConfig({ env: { REDIS_URL: 'http://user:hunter2@host:6379' } }));
    expect(problems[0]).toContain('REDIS_URL');
    expect(problems.join()).not.toContain('hunter2');
  });

  it('rejects a non-number CARBON_MEASUREMENT_INTERVAL and a bad time zone', async () => {
    expect(problemsOf(() => loadConfig({ env: { CARBON_MEASUREMENT_INTERVAL: 'often' } }))[0]).toContain('CARBON_MEASUREMENT_INTERVAL');
    const file = await yamlFile('timeZone: Mars/Olympus\n');
    expect(problemsOf(() => loadConfig({ file, env: {} }))[0]).toMatch(/^timeZone: got "Mars\/Olympus", expected "local" or an IANA/);
  });

  it('reports YAML that does not parse, with the file', async () => {
    const file = await yamlFile('redis: [unclosed\n');
    expect(() => loadConfig({ file, env: {} })).toThrow(/not valid YAML/);
  });
});

describe('the example configuration', () => {
  it('loads, and its values are the defaults', () => {
    const example = loadConfig({ file: 'config/tta-carbon.example.yaml', env: {} });
    const defaults = loadConfig({ env: {} });
    expect({ ...example, hostName: '' }).toEqual({ ...defaults, hostName: '' });
  });
});
