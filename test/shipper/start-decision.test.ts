import { describe, expect, it } from 'vitest';
import { generationKey } from '../../src/common/registry/identity.js';
import type { RegistryEntry } from '../../src/common/registry/registry-file.js';
import { Batcher } from '../../src/shipper/batcher.js';
import { decideStart } from '../../src/shipper/start-decision.js';

const entry = (offset: number, goneSince?: number): RegistryEntry => ({
  dev: 1,
  ino: 2,
  fpLen: 10,
  fpHash: 'a'.repeat(64),
  path: '/x',
  offset,
  updatedAt: 0,
  goneSince,
});

describe('decideStart', () => {
  it('reads a file never seen from the beginning, or from its end with startAt: end', () => {
    expect(decideStart('b', undefined, 500, 'beginning', 7)).toEqual({ kind: 'new', key: 'b', offset: 0 });
    expect(decideStart('b', undefined, 500, 'end', 7)).toEqual({ kind: 'new', key: 'b', offset: 500 });
  });

  it('resumes a known live file from its offset, whatever startAt says', () => {
    expect(decideStart('b', ['b~1', entry(300)], 500, 'end', 7)).toEqual({ kind: 'resume', key: 'b~1', offset: 300 });
    expect(decideStart('b', ['b', entry(500)], 500, 'beginning', 7)).toEqual({ kind: 'resume', key: 'b', offset: 500 });
  });

  it('takes a file shorter than what was read, or one marked gone, for a new one: own generation, from 0', () => {
    const shorter = decideStart('b', ['b', entry(600)], 500, 'end', 7);
    expect(shorter).toMatchObject({ kind: 'reused', key: generationKey('b', 7), offset: 0 });
    const gone = decideStart('b', ['b', entry(100, 5)], 500, 'beginning', 9);
    expect(gone).toMatchObject({ kind: 'reused', key: generationKey('b', 9), offset: 0, previous: ['b', entry(100, 5)] });
  });
});

describe('Batcher', () => {
  const chunk = (offset: number, end: number) => ({ record: { offset, end, lines: 1 } as never, end, bytes: Buffer.alloc(end - offset) });

  it('is full at maxRecords or maxBytes, lingers from its first record, and ends at its last', () => {
    let now = 1000;
    const b = new Batcher(100, { maxRecords: 3, maxBytes: 1000, lingerMs: 50 }, () => now);
    expect(b.empty).toBe(true);
    expect(b.end).toBe(100);
    expect(b.lingered()).toBe(false);
    b.add(chunk(100, 200));
    now += 49;
    b.add(chunk(200, 300));
    expect(b.lingered()).toBe(false);
    expect(b.full()).toBe(false);
    now += 1;
    expect(b.lingered()).toBe(true);
    b.add(chunk(300, 400));
    expect(b.full()).toBe(true);
    expect(b.end).toBe(400);
    expect(b.payload).toHaveLength(3);
    b.clear();
    expect(b.empty).toBe(true);
    expect(b.end).toBe(400);
    b.add(chunk(400, 1400));
    expect(b.full()).toBe(true);
  });
});
