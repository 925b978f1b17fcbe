import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_JOB } from '../../src/common/queue/contract.js';
import { allDocs, cleanup, countDocs, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';
import { logBatch, startTestWorker } from '../helpers/worker.js';

// Issue #14: many hosts and environments on one Redis. Real shipper processes, a real
// worker, real Elasticsearch: every line once per host that read it, under that host
// and its environment, across kill -9.

const teardown: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
});

function lines(file: string, from: number, count: number): void {
  let text = '';
  for (let i = from; i < from + count; i++) text += `INFO:fleet:line ${i}\n`;
  appendFileSync(file, text);
}

const perHost = (pattern: string, host: string) => countDocs(pattern, { term: { 'host.name': host } });

describe('one Redis, many hosts', () => {
  it('two shippers with their own data dirs and host names on one file: N documents under each host, still after kill -9 of both', async () => {
    const names = uniqueNames('twohosts');
    const dir = await tempDir('twohosts');
    mkdirSync(join(dir, 'log'));
    const file = join(dir, 'log', 'carbon.log');
    writeFileSync(file, '');
    const worker = await startTestWorker(names);
    teardown.push(
      () => worker.stop(),
      () => cleanup(names, [dir]),
    );
    const yaml = 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20';
    const start = (host: string) => startCliProcess('shipper', names, dir, yaml, { TTA_HOST_NAME: host, TTA_DATA_DIR: join(dir, `data-${host}`) });
    let a: ShipperProcess = await start('host-a');
    let b: ShipperProcess = await start('host-b');
    teardown.push(
      () => a.stop('SIGKILL'),
      () => b.stop('SIGKILL'),
    );
    const pattern = `${names.indexPrefix}-2*`;
    lines(file, 0, 300);
    await waitFor(async () => (await perHost(pattern, 'host-a')) >= 300 && (await perHost(pattern, 'host-b')) >= 300, 60_000, '300 lines under each host');
    // Both ids made once per data directory, and different.
    const ids = ['host-a', 'host-b'].map((h) => JSON.parse(readFileSync(join(dir, `data-${h}`, 'instance.json'), 'utf8')).id);
    expect(ids[0]).not.toBe(ids[1]);
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    lines(file, 300, 200);
    a = await start('host-a');
    b = await start('host-b');
    lines(file, 500, 100);
    await waitFor(async () => (await perHost(pattern, 'host-a')) >= 600 && (await perHost(pattern, 'host-b')) >= 600, 60_000, '600 lines under each host');
    await worker.drained(30_000).catch(() => undefined);
    const docs = await allDocs(pattern);
    expect(docs).toHaveLength(1200);
    for (const host of ['host-a', 'host-b']) {
      const texts = docs.filter((d) => d._source.host.name === host).map((d) => d._source.message as string);
      expect(new Set(texts).size).toBe(600);
    }
    expect(ids).toEqual(['host-a', 'host-b'].map((h) => JSON.parse(readFileSync(join(dir, `data-${h}`, 'instance.json'), 'utf8')).id));
  }, 180_000);
});

describe('one queue, two environments', () => {
  it('one worker indexes each batch under the environment of its shipper, none in the other', async () => {
    const a = uniqueNames('enva');
    const b = { ...uniqueNames('envb'), queue: a.queue };
    const dir = await tempDir('twoenvs');
    for (const env of ['a', 'b']) mkdirSync(join(dir, env, 'log'), { recursive: true });
    writeFileSync(join(dir, 'a', 'log', 'carbon.log'), '');
    writeFileSync(join(dir, 'b', 'log', 'carbon.log'), '');
    // The worker belongs to environment a; it serves b's batches all the same.
    const worker = await startTestWorker(a);
    teardown.push(
      () => worker.stop(),
      () => cleanup(a, [dir]),
      () => cleanup(b),
    );
    const yaml = 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20';
    const sa = await startCliProcess('shipper', a, join(dir, 'a'), yaml);
    const sb = await startCliProcess('shipper', b, join(dir, 'b'), yaml);
    teardown.push(
      () => sa.stop(),
      () => sb.stop(),
    );
    lines(join(dir, 'a', 'log', 'carbon.log'), 0, 150);
    lines(join(dir, 'b', 'log', 'carbon.log'), 0, 250);
    // A batch from a shipper of the previous contract names no environment: the worker's.
    await worker.queue.add(BATCH_JOB, { ...logBatch('legacy', ['INFO:legacy:from a v1 shipper']), v: 1 } as never, { jobId: 'legacy_0' });
    await waitFor(async () => (await countDocs(`${a.indexPrefix}-2*`)) >= 151 && (await countDocs(`${b.indexPrefix}-2*`)) >= 250, 60_000, 'both environments');
    const docsA = await allDocs(`${a.indexPrefix}-2*`);
    const docsB = await allDocs(`${b.indexPrefix}-2*`);
    expect(docsA).toHaveLength(151);
    expect(docsB).toHaveLength(250);
    expect(docsA.every((d) => d._source.environment === a.environment)).toBe(true);
    expect(docsB.every((d) => d._source.environment === b.environment)).toBe(true);
    expect(docsA.find((d) => d._id === 'legacy.0.0')?._source.message).toBe('from a v1 shipper');
  }, 120_000);
});
