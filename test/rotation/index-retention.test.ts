import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyIndex } from '../../src/common/indices/names.js';
import { planRetention } from '../../src/rotation/index-retention.js';
import { runCli } from '../helpers/cli.js';
import { cleanup, esClient, services, uniqueNames } from '../helpers/services.js';

const DAY = 86_400_000;

describe('planRetention (pure)', () => {
  const policy = { indexPrefix: 'tta-staging-carbon', retentionDays: 30, deadLetterRetentionDays: 90 };
  const now = new Date('2026-03-31T23:59:00Z');

  it('keeps days -29..0, deletes older, by the name', () => {
    const names = [-31, -30, -29, 0].map((d) => dailyIndex(policy.indexPrefix, new Date(now.getTime() + d * DAY)));
    expect(planRetention(names, policy, now)).toEqual({
      delete: ['tta-staging-carbon-2026.03.01', 'tta-staging-carbon-2026.02.28'].sort(),
      keep: ['tta-staging-carbon-2026.03.02', 'tta-staging-carbon-2026.03.31'],
      ignored: [],
    });
  });

  it('never takes another name for a daily index', () => {
    const names = ['tta-staging-carbon-2026.02.30', 'tta-staging-carbon-2020.01.01-restored', 'tta-staging-carbon-x2020.01.01', 'tta-staging-carbon-templates'];
    expect(planRetention(names, policy, now)).toEqual({ delete: [], keep: [], ignored: [...names].sort() });
  });

  it('gives dead-letter indices their own retention', () => {
    const plan = planRetention(['tta-staging-carbon-deadletter-2026.01.15', 'tta-staging-carbon-deadletter-2025.12.01'], policy, now);
    expect(plan.keep).toEqual(['tta-staging-carbon-deadletter-2026.01.15']);
    expect(plan.delete).toEqual(['tta-staging-carbon-deadletter-2025.12.01']);
  });
});

// Against the real cluster, through the CLI: days -40..0 plus unrelated indices.
const names = uniqueNames('retention');
const other = uniqueNames('other');
const es = esClient();
const today = new Date();
const daily = Array.from({ length: 41 }, (_, i) => dailyIndex(names.indexPrefix, new Date(today.getTime() - i * DAY)));
const unrelated = [`${names.indexPrefix}-notes`, `${other.indexPrefix}-2001.01.01`, `${names.indexPrefix}-2001.01.01-copy`];

function cli(args: string[]) {
  return runCli(['retention', ...args], { TTA_ENV: names.environment, ELASTICSEARCH_URL: services.elasticsearchUrl });
}

async function existing(): Promise<string[]> {
  const found = await es.indices.get({ index: [`${names.indexPrefix}-*`, `${other.indexPrefix}-*`], allow_no_indices: true });
  return Object.keys(found).sort();
}

beforeAll(async () => {
  for (const index of [...daily, ...unrelated]) {
    await es.indices.create({ index, settings: { number_of_replicas: 0, number_of_shards: 1 } });
  }
}, 120_000);

afterAll(async () => {
  await cleanup(names);
  await cleanup(other);
  await es.close();
});

describe('tta-carbon retention against Elasticsearch', () => {
  it('--dry-run lists the 11 expired indices and deletes nothing', async () => {
    const r = await cli(['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^would delete /gm)).toHaveLength(11);
    expect(await existing()).toEqual([...daily, ...unrelated].sort());
  });

  it('leaves exactly days -29..0 and every unrelated index', async () => {
    const r = await cli([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('11 index(es) deleted, 30 kept');
    expect(await existing()).toEqual([...daily.slice(0, 30), ...unrelated].sort());
  });
});
