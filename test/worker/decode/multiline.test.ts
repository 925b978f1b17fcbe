import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_START_PATTERN } from '../../../src/common/lines/boundary.js';
import { LineSplitter } from '../../../src/common/lines/line-splitter.js';
import { MultilineJoiner, type JoinedEvent } from '../../../src/worker/decode/multiline.js';

const options = { startPattern: new RegExp(DEFAULT_START_PATTERN), maxLines: 500, maxBytes: 1 << 20 };

function join(text: string, opts = options): JoinedEvent[] {
  const splitter = new LineSplitter(0, 1 << 20);
  const joiner = new MultilineJoiner(opts);
  const events = splitter.push(Buffer.from(text)).flatMap((l) => joiner.push(l) ?? []);
  const last = joiner.flush();
  return last ? [...events, last] : events;
}

describe('MultilineJoiner', () => {
  it('keeps a Python traceback, including its unindented last line, with its record', () => {
    const text = [
      'ERROR:src.components.llm_component:Exception in plan_arc: division by zero',
      'Traceback (most recent call last):',
      '  File "/opt/tta/staging/src/components/plan_arc.py", line 164, in plan_arc',
      '    result = total / count',
      'ZeroDivisionError: division by zero',
      'INFO:codecarbon:score_choice emitted 0.000509 kg CO2eq',
      '',
    ].join('\n');
    const events = join(text);
    expect(events).toHaveLength(2);
    expect(events[0]!.lines).toBe(5);
    expect(events[0]!.text.endsWith('ZeroDivisionError: division by zero')).toBe(true);
    expect(events[1]).toMatchObject({ text: 'INFO:codecarbon:score_choice emitted 0.000509 kg CO2eq', lines: 1 });
    expect(events[1]!.offset).toBe(events[0]!.end);
  });

  it('joins indented continuation lines and leaves plain lines alone', () => {
    const events = join('INFO:a:first\n  more of first\nsomething else\n{"message":"json"}\n');
    expect(events.map((e) => e.text)).toEqual(['INFO:a:first\n  more of first', 'something else', '{"message":"json"}']);
  });

  it('starts a new event rather than dropping lines past maxLines', () => {
    const events = join('INFO:a:x\n  1\n  2\n  3\n  4\n', { ...options, maxLines: 3 });
    expect(events.map((e) => e.lines)).toEqual([3, 2]);
    expect(events.map((e) => e.text).join('\n')).toBe('INFO:a:x\n  1\n  2\n  3\n  4');
  });

  it('splits the sample carbon.log into records that each start like a record', () => {
    const sample = readFileSync(new URL('../../fixtures/samples/carbon.log', import.meta.url), 'utf8');
    const events = join(sample);
    const lines = sample.split('\n').filter(Boolean).length;
    expect(events.reduce((n, e) => n + e.lines, 0)).toBe(lines);
    for (const e of events) expect(e.text).toMatch(options.startPattern);
    expect(events.some((e) => e.text.includes('Traceback') && e.lines >= 4)).toBe(true);
  });
});
