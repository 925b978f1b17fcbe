import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Hostile input through the whole pipeline (`tta-carbon run` as its own process, real
// Redis and Elasticsearch), with good numbered lines around every bad one: nothing
// crashes, every good line is indexed, every bad record is indexed or dead-lettered.

const names = uniqueNames('hostile');
let dir: string;
let pipeline: ShipperProcess;

const now = () => new Date().toISOString();
const good = (n: number) => `{"timestamp":"${now()}","level":"info","message":"good ${n}"}\n`;
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const HOSTILE: [string, Buffer | string][] = [
  ['random binary', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256).filter((b) => b !== 10))],
  ['NUL bytes', `INFO:x:nul\u0000in\u0000the\u0000middle`],
  ['a 50 MB line', `INFO:x:${'y'.repeat(50 * 1024 * 1024)}`],
  ['JSON nested 10,000 deep', `{"timestamp":"${new Date().toISOString()}","message":"deep","deep":${nested(10_000)}}`],
  ['huge numbers', `{"message":"huge","n":1e400,"m":-123456789012345678901234567890,"timestamp":"${new Date().toISOString()}"}`],
  ['duplicate keys', `{"message":"first","message":"second","timestamp":"${new Date().toISOString()}"}`],
  ['invalid UTF-8', Buffer.concat([Buffer.from('INFO:x:bad '), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc])])],
  ['a JSON array line', '[1,2,3]'],
  ['a type clash', `{"message":"clash","log":"not an object","timestamp":"${new Date().toISOString()}"}`],
];

beforeAll(async () => {
  dir = await tempDir('hostile');
  mkdirSync(join(dir, 'log'));
  writeFileSync(join(dir, 'log', 'carbon.log'), '');
  pipeline = await startCliProcess('run', names, dir, 'pollIntervalMs: 50\nbatch:\n  lingerMs: 20');
});

afterAll(async () => {
  await pipeline.stop();
  await cleanup(names, [dir]);
});

describe('hostile input with good data around it', () => {
  it('indexes every good line, keeps every bad record somewhere, and does not crash', async () => {
    const file = join(dir, 'log', 'carbon.log');
    let n = 0;
    for (const [, bad] of HOSTILE) {
      appendFileSync(file, good(n++));
      appendFileSync(file, bad);
      appendFileSync(file, '\n');
    }
    appendFileSync(file, good(n++));
    const expectedRecords = n + HOSTILE.length;
    let seen: Awaited<ReturnType<typeof allDocs>> = [];
    const docs = await waitFor(
      async () => {
        seen = await allDocs(`${names.indexPrefix}-*`);
        return seen.length >= expectedRecords ? seen : null;
      },
      90_000,
      `${expectedRecords} documents (indexed or dead-lettered)`,
      1000,
    ).catch((err) => {
      console.log(
        `arrived: ${seen.map((d) => `${d._index.includes('deadletter') ? 'DLQ ' : ''}${String(d._source.message ?? d._source.error?.type).slice(0, 40)}`).join(' | ')}`,
      );
      console.log(
        pipeline
          .output()
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .slice(-15)
          .join('\n')
          .slice(0, 5000),
      );
      throw err;
    });
    expect(pipeline.child.exitCode).toBeNull();
    const goods = docs.filter((d) => /^good \d+$/.test(d._source.message ?? '')).map((d) => Number(d._source.message.slice(5)));
    expect(goods.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(docs).toHaveLength(expectedRecords);
    const dead = docs.filter((d) => d._index.includes('-deadletter-'));
    const indexed = docs.filter((d) => !d._index.includes('-deadletter-'));
    const big = indexed.find((d) => d._source.tags?.includes('truncated'));
    expect(big?._source.message.length).toBeGreaterThan(1_000_000 - 100);
    expect(indexed.some((d) => d._source.message === 'nul\u0000in\u0000the\u0000middle')).toBe(true);
    expect(indexed.some((d) => typeof d._source.message === 'string' && d._source.message.startsWith('bad \uFFFD'))).toBe(true);
    expect(dead.every((d) => typeof d._source.error?.message === 'string' && d._source.error.message.length > 0)).toBe(true);
    console.log(`hostile: ${indexed.length} indexed, ${dead.length} dead-lettered (${dead.map((d) => d._source.error.type).join(', ')})`);
  }, 150_000);
});
