import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/common/logging/logger.js';
import { progress } from '../../../src/common/logging/progress.js';

function sink(tty: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk, _e, cb) {
      text += chunk;
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  (stream as { isTTY?: boolean }).isTTY = tty;
  return { stream, text: () => text };
}

describe('progress', () => {
  it('draws a self-overwriting line on a terminal', () => {
    const term = sink(true);
    const p = progress('shipping backlog', createLogger({ level: 'silent' }), { stream: term.stream, everyMs: 0 });
    p.update(50e6, 200e6);
    p.finish();
    expect(term.text()).toBe('\rshipping backlog: 25.0 % (50.0 M of 200.0 M)   \n');
  });

  it('with the rate and the time left, from what was done since the first update', () => {
    const term = sink(true);
    let now = 1_000;
    const p = progress('shipping backlog', createLogger({ level: 'silent' }), { stream: term.stream, everyMs: 0, now: () => now });
    p.update(0, 200e6);
    now += 4_000;
    p.update(50e6, 200e6);
    p.finish();
    expect(term.text()).toBe('\rshipping backlog: 0.0 % (0 of 200.0 M)   \rshipping backlog: 25.0 % (50.0 M of 200.0 M, 12.5 M/s, ETA 12 s)   \n');
  });

  it('logs a JSON line when not on a terminal', () => {
    const logs = sink(false);
    const logger = createLogger({ level: 'info', destination: logs.stream as never });
    const p = progress('deleting expired indices', logger, { stream: sink(false).stream, everyMs: 0 });
    p.update(3, 12);
    logger.flush?.();
    const line = JSON.parse(logs.text().trim());
    expect(line).toMatchObject({ msg: 'deleting expired indices', done: 3, total: 12, percent: 25 });
  });
});
