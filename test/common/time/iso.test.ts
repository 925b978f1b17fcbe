import { describe, expect, it } from 'vitest';
import { IsoFormatter } from '../../../src/common/time/iso.js';
import { rng } from '../../helpers/random.js';

describe('IsoFormatter', () => {
  it('writes what toISOString writes, for times in and across seconds, in any order', () => {
    const iso = new IsoFormatter();
    const r = rng(42);
    const base = Date.UTC(2026, 11, 2, 6, 0, 0);
    for (let i = 0; i < 20_000; i++) {
      // Mostly neighbours within a second, sometimes far back or ahead, before 1970 too.
      const ms = r() < 0.9 ? base + Math.floor(r() * 3000) : Math.floor((r() - 0.5) * 4e12);
      const d = new Date(ms);
      expect(iso.format(d)).toBe(d.toISOString());
    }
  });

  it('stays right when events alternate between two seconds and a third comes in between', () => {
    const iso = new IsoFormatter();
    const a = Date.UTC(2026, 11, 2, 6, 0, 0);
    const b = a - 3_600_000;
    for (let i = 0; i < 3000; i++) {
      const ms = i % 97 === 0 ? a + 5000 + i : i % 2 === 0 ? a + (i % 1000) : b + (i % 1000);
      const d = new Date(ms);
      expect(iso.format(d)).toBe(d.toISOString());
    }
  });

  it('years outside 0–9999 and invalid dates behave as toISOString does', () => {
    const iso = new IsoFormatter();
    for (const d of [new Date(Date.UTC(12345, 0, 1, 0, 0, 0, 7)), new Date(Date.UTC(12345, 0, 1, 0, 0, 0, 8)), new Date(-62198755200000 - 1)]) {
      expect(iso.format(d)).toBe(d.toISOString());
    }
    expect(() => iso.format(new Date(Number.NaN))).toThrow(RangeError);
  });
});
