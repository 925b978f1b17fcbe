import { describe, expect, it } from 'vitest';
import { LogThrottle } from '../../../src/common/logging/throttle.js';

describe('LogThrottle', () => {
  it('lets one through per interval per key, and says how many it held back', () => {
    let now = 0;
    const t = new LogThrottle(() => now, 60_000);
    expect(t.due('a')).toEqual({});
    now = 1000;
    expect(t.due('a')).toBeNull();
    expect(t.due('a')).toBeNull();
    expect(t.due('b')).toEqual({});
    now = 60_000;
    expect(t.due('a')).toEqual({ suppressed: 2 });
    now = 60_001;
    expect(t.due('a')).toBeNull();
    t.clear('a');
    expect(t.due('a')).toEqual({});
  });
});
