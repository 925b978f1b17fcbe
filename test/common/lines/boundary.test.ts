import { describe, expect, it } from 'vitest';
import { alwaysContinues, alwaysStarts } from '../../../src/common/lines/boundary.js';
import { DEFAULT_START_PATTERN } from '../../../src/common/lines/boundary.js';

// The rule the shipper's chunker and the worker's joiner share (chunker.test.ts checks
// that the two cut the same events from the same bytes whatever the read sizes).
const start = new RegExp(DEFAULT_START_PATTERN);

describe('event boundary', () => {
  it('indented lines and traceback headers continue; a matching line starts', () => {
    expect(alwaysContinues('  File "a.py", line 1')).toBe(true);
    expect(alwaysContinues('\tat x')).toBe(true);
    expect(alwaysContinues('Traceback (most recent call last):')).toBe(true);
    expect(alwaysStarts('INFO:src.x:started', start)).toBe(true);
    expect(alwaysStarts('2026-12-01 20:18:52,123 - src.x - INFO - hi', start)).toBe(true);
    expect(alwaysStarts('ZeroDivisionError: division by zero', start)).toBe(false);
    expect(alwaysStarts('  INFO:indented', start)).toBe(false);
  });
});
