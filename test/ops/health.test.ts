import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/worker/template.js';
import { runCli } from '../helpers/cli.js';
import { cleanup, esClient, services, tempDir, uniqueNames } from '../helpers/services.js';

// `tta-carbon health` as an operator runs it, against the real services and dead ports.

const names = uniqueNames('health');
let dir: string;

function health(env: Record<string, string>, json = false) {
  return runCli(['health', ...(json ? ['--json'] : [])], {
    TTA_ENV: names.environment,
    TTA_LOG_DIR: join(dir, 'log'),
    TTA_DATA_DIR: join(dir, 'data'),
    REDIS_URL: services.redisUrl,
    ELASTICSEARCH_URL: services.elasticsearchUrl,
    ...env,
  });
}

beforeAll(async () => {
  dir = await tempDir('health');
  await mkdir(join(dir, 'log', 'codecarbon'), { recursive: true });
  await writeFile(join(dir, 'log', 'carbon.log'), 'INFO:a:b\n');
  await writeFile(join(dir, 'log', 'codecarbon', 'emissions.csv'), 'timestamp,emissions\n');
  const es = esClient();
  await installTemplates(es, names.indexPrefix);
  await es.close();
});

afterAll(async () => {
  await cleanup(names, [dir]);
});

describe('tta-carbon health', () => {
  it("exits 0 when all is well, in the guide's form", async () => {
    const r = await health({});
    expect(r.out).toContain('✅ Configuration: Valid');
    expect(r.out).toContain(`✅ Output directory writable: ${join(dir, 'log', 'codecarbon')}`);
    expect(r.out).toContain('✅ Carbon component: OK');
    expect(r.out).toContain('✅ Redis: reachable');
    expect(r.out).toContain('✅ Elasticsearch: cluster');
    expect(r.code).toBe(0);
  });

  it('exits 1 and names Redis when Redis is down', async () => {
    const r = await health({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.out).toMatch(/❌ Redis: unreachable at redis:\/\/127\.0\.0\.1:1.*ECONNREFUSED/);
    expect(r.code).toBe(1);
  });

  it('exits 1 and names Elasticsearch when it is down; --json for machines', async () => {
    const r = await health({ ELASTICSEARCH_URL: 'http://127.0.0.1:1' }, true);
    const parsed = JSON.parse(r.stdout);
    expect(parsed.status).toBe('unhealthy');
    expect(parsed.checks.find((c: { name: string }) => c.name === 'Elasticsearch')).toMatchObject({ status: 'failed' });
    expect(r.code).toBe(1);
  });

  it('exits 1 when the output directory is missing', async () => {
    const r = await health({ CARBON_OUTPUT_DIR: join(dir, 'nope') });
    expect(r.out).toContain(`❌ Output directory writable: ${join(dir, 'nope')}: ENOENT`);
    expect(r.code).toBe(1);
  });
});
