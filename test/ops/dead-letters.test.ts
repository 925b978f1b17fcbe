import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, countDocs, esClient, services, uniqueNames } from '../helpers/services.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';
import { findDeadLetters, replayDeadLetters } from '../../src/ops/dead-letters.js';

// Issue #36: a document Elasticsearch refused for good is put back by a command, not by
// curl. The refusal is a real one: the day's index takes no field it does not map (as
// a template too strict would), so a JSON line with a field of its own is dead-lettered
// by a real worker; the fix is the one an operator would make in place (the mapping
// made dynamic); the command is the real CLI.

const names = uniqueNames('dlq');
afterAll(async () => {
  await cleanup(names);
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/tta-carbon.js', 'dead-letters', ...args], {
    env: { PATH: process.env.PATH!, TTA_ENV: names.environment, ELASTICSEARCH_URL: services.elasticsearchUrl },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('tta-carbon dead-letters', () => {
  it('lists and shows a mapping refusal, replays it once the mapping is fixed: indexed once under its id, twice adds nothing', async () => {
    const es = esClient();
    try {
      const day = new Date().toISOString().slice(0, 10);
      const index = `${names.indexPrefix}-${day.replaceAll('-', '.')}`;
      const worker = await startTestWorker(names, (c) => (c.timeZone = 'UTC'));
      // Created after the worker installed its templates, so they apply to the rest.
      await es.indices.create({ index, mappings: { dynamic: 'strict' } });
      const at = `${day} 10:00:00,000`;
      await worker.add(
        logBatch('dlq-file', [
          `${at} - src.components.carbon_component - INFO - before`,
          JSON.stringify({ timestamp: `${day}T10:00:01`, level: 'INFO', message: 'refused line', user_id: 42 }),
          `${at} - src.components.carbon_component - INFO - after`,
        ]),
      );
      await worker.finish();
      await es.indices.refresh({ index: `${names.indexPrefix}-*` });
      expect(await countDocs(index)).toBe(2);
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`)).toBe(1);

      const list = cli('list', '--since', '1h');
      expect(list.code, list.out).toBe(0);
      expect(list.out).toContain('strict_dynamic_mapping_exception');
      expect(list.out).toContain(index);
      expect(list.out).toContain('1 dead letter(s)');
      const [letter] = JSON.parse(cli('list', '--json').out) as { id: string; targetIndex: string }[];
      expect(letter!.targetIndex).toBe(index);
      expect(cli('list', '--reason', 'no_such_reason').out).toContain('0 dead letter(s)');

      const show = cli('show', letter!.id);
      expect(show.code, show.out).toBe(0);
      expect(show.out).toContain('"user_id": 42');
      expect(show.out).toContain(`meant for:    ${index}`);
      expect(cli('show', 'no-such-id').code).toBe(1);

      // Not fixed yet: refused again, and kept.
      const early = cli('replay');
      expect(early.code, early.out).toBe(1);
      expect(early.out).toContain('0 replayed, 0 already in their index, 1 refused again');
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`)).toBe(1);

      const dry = cli('replay', '--dry-run');
      expect(dry.out).toContain(`would replay ${letter!.id} into ${index}`);

      const stored = await findDeadLetters(es, names.indexPrefix);
      expect(stored.map((l) => l.id)).toEqual([letter!.id]);
      await es.indices.putMapping({ index, dynamic: true });
      const replay = cli('replay', '--reason', 'strict_dynamic');
      expect(replay.code, replay.out).toBe(0);
      expect(replay.out).toContain('1 replayed, 0 already in their index, 0 refused again');
      await es.indices.refresh({ index: `${names.indexPrefix}-*` });
      expect(await countDocs(index)).toBe(3);
      const doc = await es.get<{ message: string; user_id: number }>({ index, id: letter!.id });
      expect([doc._source?.message, doc._source?.user_id]).toEqual(['refused line', 42]);
      expect(await countDocs(`${names.indexPrefix}-deadletter-*`)).toBe(0);

      const again = cli('replay');
      expect(again.code).toBe(0);
      expect(again.out).toContain('no dead letters to replay');
      // The same dead letter sent again (a replay that died before removing it): there already.
      const twice = await replayDeadLetters(es, stored);
      expect([twice.replayed.length, twice.present.length, twice.refused.length]).toEqual([0, 1, 0]);
      await es.indices.refresh({ index });
      expect(await countDocs(index)).toBe(3);
    } finally {
      await es.close();
    }
  }, 120_000);

  it('a bad --since is a usage error', () => {
    const r = cli('list', '--since', '12');
    expect(r.code).toBe(2);
    expect(r.out).toContain('expected a duration');
  });
});
