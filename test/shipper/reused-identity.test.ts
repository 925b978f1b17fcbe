import { appendFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Device, inode and first line do not tell two files apart over time. Here a file is
// truncated and written again with the same first line and lines of the same lengths,
// so every event of the new content starts at an offset the old content also had: with
// the old file's id, each new event's document id would be an old document's, and
// Elasticsearch would refuse it as a duplicate. Every new line must be indexed.

const names = uniqueNames('reusedid');
let dir: string;
let run: ShipperProcess | undefined;

afterAll(async () => {
  await run?.stop();
  await cleanup(names, [dir]);
});

describe('a new file under the identity of one read before', () => {
  it('is read from 0 under its own id: no new line is taken for a duplicate', async () => {
    dir = await tempDir('reusedid');
    mkdirSync(join(dir, 'log'));
    const file = join(dir, 'log', 'carbon.log');
    const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `INFO:carbon:${tag} ${String(i).padStart(4, '0')}\n`).join('');
    writeFileSync(file, `INFO:carbon:component started\n${lines('old', 200)}`);
    run = await startCliProcess('run', names, dir, 'pollIntervalMs: 50\nbatch:\n  lingerMs: 50\n');
    const messages = async () => (await allDocs(`${names.indexPrefix}-2*`)).map((d) => d._source.message as string);
    await waitFor(async () => (await messages()).length === 201, 60_000, 'the old file indexed');

    truncateSync(file, 0);
    appendFileSync(file, `INFO:carbon:component started\n${lines('new', 100)}`);
    await waitFor(async () => (await messages()).filter((m) => m.startsWith('new ')).length === 100, 60_000, 'all 100 new lines indexed');
    const docs = await allDocs(`${names.indexPrefix}-2*`);
    expect(docs.filter((d) => d._source.message === 'component started')).toHaveLength(2);
    const extra = docs.filter((d) => !/^(old|new) \d{4}$/.test(d._source.message) && d._source.message !== 'component started');
    expect(extra.map((d) => [d._id, d._source.message, d._source.tags])).toEqual([]);
    expect(new Set(docs.map((d) => d._id)).size).toBe(302);
  }, 150_000);
});
