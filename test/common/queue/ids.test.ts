import { describe, expect, it } from 'vitest';
import { batchIds, StreamIds } from '../../../src/common/queue/contract.js';

const STREAMS = ['8de6e22b42c4.1e68-5xvm3', 'host "a"\\b.f1', 'ünï\u0001\u2028.f', ''];
const POSITIONS = [
  [0, 0],
  [1, 1],
  [123_456_789, 1],
  [Number.MAX_SAFE_INTEGER, 0],
] as const;

describe('StreamIds', () => {
  it("writes each id's JSON text as JSON.stringify writes it, in both schemes", () => {
    for (const scheme of [undefined, 'short'] as const) {
      for (const stream of STREAMS) {
        const ids = new StreamIds(stream, scheme);
        for (const [offset, n] of POSITIONS) {
          if (!scheme) expect(ids.id(offset, n)).toBe(`${stream}.${offset}.${n}`);
          expect(ids.json(offset, n)).toBe(JSON.stringify(ids.id(offset, n)));
        }
      }
    }
  });

  it('keeps the ids of batches without a scheme exactly as they always were', () => {
    // Batches queued before short ids (contract v1, v2) are indexed under these again.
    expect(new StreamIds('src1.1e68-5xv7a-2f4fe60d5d85cc42').id(42, 0)).toBe('src1.1e68-5xv7a-2f4fe60d5d85cc42.42.0');
    expect(batchIds({ fileId: 'legacy' }).id(0, 0)).toBe('legacy.0.0');
    expect(batchIds({ source: 's', fileId: 'f' }).id(7, 2)).toBe('s.f.7.2');
  });

  it('makes short ids one per stream, offset and record, of a fixed-length stream part', () => {
    const seen = new Set<string>();
    for (const stream of ['a.f1', 'a.f2', 'b.f1']) {
      const ids = new StreamIds(stream, 'short');
      for (let offset = 0; offset < 2000; offset += 7) for (const n of [0, 1, 12]) seen.add(ids.id(offset, n));
      expect(ids.id(0, 0)).toHaveLength(13);
      expect(ids.id(0, 0)).toMatch(/^[A-Za-z0-9_-]{12}0$/);
    }
    expect(seen.size).toBe(3 * Math.ceil(2000 / 7) * 3);
    // Replays make the same ids: the same stream, offset and record give the same text.
    const replayed = new StreamIds('a.f1', 'short');
    expect(replayed.id(12345, 0)).toBe(new StreamIds('a.f1', 'short').id(12345, 0));
    expect(replayed.id(12345, 0)).toBe(`${replayed.id(0, 0).slice(0, 12)}${(12345).toString(36)}`);
    expect(batchIds({ source: 'a', fileId: 'f1', ids: 'short' }).id(9, 0)).toBe(replayed.id(9, 0));
  });
});
