import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../../src/common/time/zoned.js';

// parseTimestamp keeps the instant of the last naive second it read (lines of one
// second share their text up to it). Whatever came before, it must answer as if it
// had read each text on its own.

const SECONDS = ['2026-03-29 02:30:00', '2026-10-25T02:30:00', '2026-10-25 01:59:59', '2026-12-31 23:59:60', '2026-06-01T12:00:00'];
const TAILS = ['', ',5', '.5', ',123', '.123456', '.123456789', '.1234567890', '.', ',5x', 'Z', '+01:00', '.250-05:00', ' ', 'x'];
const ZONES = ['local', 'UTC', 'Europe/Paris', 'America/New_York'];

function alone(text: string, timeZone: string): number | null {
  // A text of another second and zone first: nothing kept can answer for `text`.
  parseTimestamp('2001-01-01 00:00:00', 'Asia/Tokyo');
  return parseTimestamp(text, timeZone)?.getTime() ?? null;
}

describe('parseTimestamp', () => {
  it('answers each text of a second and zone as it does alone, in any order', () => {
    for (const timeZone of ZONES) {
      const texts = SECONDS.flatMap((s) => TAILS.map((tail) => `${s}${tail}`));
      const expected = texts.map((t) => alone(t, timeZone));
      for (const order of [texts, [...texts].reverse()]) {
        const got = order.map((t) => parseTimestamp(t, timeZone)?.getTime() ?? null);
        expect(got).toEqual(order.map((t) => expected[texts.indexOf(t)]));
      }
      // The same text in another zone is another instant, not the one kept.
      parseTimestamp('2026-06-01 12:00:00', timeZone);
      expect(parseTimestamp('2026-06-01 12:00:00.5', 'Asia/Tokyo')?.getTime()).toBe(alone('2026-06-01 12:00:00.5', 'Asia/Tokyo'));
    }
  });

  it('reads the fraction to the millisecond and the zone the text names', () => {
    expect(parseTimestamp('2026-06-01 12:00:00', 'UTC')?.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect(parseTimestamp('2026-06-01 12:00:00,5', 'UTC')?.toISOString()).toBe('2026-06-01T12:00:00.500Z');
    expect(parseTimestamp('2026-06-01 12:00:00.123999', 'Europe/Paris')?.toISOString()).toBe('2026-06-01T10:00:00.123Z');
    expect(parseTimestamp('2026-06-01 12:00:00.5Z', 'Europe/Paris')?.toISOString()).toBe('2026-06-01T12:00:00.500Z');
    expect(parseTimestamp('2026-06-01 12:00:00.', 'UTC')).toBeNull();
  });
});
