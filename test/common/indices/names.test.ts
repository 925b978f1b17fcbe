import { describe, expect, it } from 'vitest';
import { dailyIndex, DayIndex, retentionCutoff } from '../../../src/common/indices/names.js';

describe('DayIndex', () => {
  const cutoff = retentionCutoff(new Date('2026-11-27T10:00:00Z'), 30);
  const days = new DayIndex('tta-x-carbon', cutoff);

  it('names the same index as dailyIndex, across day changes and odd years', () => {
    const stamps = [
      '2026-11-27T23:59:59.999Z',
      '2026-11-28T00:00:00.000Z',
      '2026-11-27T00:00:00.000Z',
      '0999-01-01T00:00:00.000Z',
      '+010000-01-01T00:00:00.000Z',
    ];
    for (const iso of stamps) expect(days.index(iso)).toBe(dailyIndex('tta-x-carbon', iso));
    expect(days.index('2026-11-28T12:00:00.000Z')).toBe('tta-x-carbon-2026.11.28');
  });

  it('tells what retention has already let go of, to the millisecond', () => {
    expect(cutoff.toISOString()).toBe('2026-10-29T00:00:00.000Z');
    expect(days.olderThanRetention('2026-10-28T23:59:59.999Z')).toBe(true);
    expect(days.olderThanRetention('2026-10-29T00:00:00.000Z')).toBe(false);
    expect(days.olderThanRetention('-000001-01-01T00:00:00.000Z')).toBe(true);
    expect(days.olderThanRetention('+010000-01-01T00:00:00.000Z')).toBe(false);
  });
});
