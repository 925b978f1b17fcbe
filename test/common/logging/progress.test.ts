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
