import { describe, expect, it } from 'vitest';
import { documentId, StreamIds } from '../../../src/common/queue/contract.js';

describe('StreamIds', () => {
  it('makes the ids documentId makes, and their JSON text as JSON.stringify writes it', () => {
    for (const stream of ['8de6e22b42c4.1e68-5xvm3', 'host "a"\\b.f1', 'ünï\u0001\u2028.f', '']) {
      const ids = new StreamIds(stream);
      for (const [offset, n] of [
        [0, 0],
        [123_456_789, 1],
        [Number.MAX_SAFE_INTEGER, 0],
      ] as const) {
        expect(ids.id(offset, n)).toBe(documentId(stream, offset, n));
        expect(ids.json(offset, n)).toBe(JSON.stringify(documentId(stream, offset, n)));
      }
    }
  });
});
