import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, safeUrl } from '../../../src/common/logging/logger.js';
import { RecentWarnings } from '../../../src/common/logging/recent.js';

describe('own logs', () => {
  it('are JSON at the configured level with credentials redacted', () => {
    let text = '';
    const destination = new Writable({
      write(c, _e, cb) {
        text += c;
        cb();
      },
    });
    const logger = createLogger({ level: 'warn', destination: destination as never });
    logger.info('hidden by level');
    logger.warn(
      { password: 'hunter2', redis: { token: 'tok-123' }, headers: { authorization: 'Bearer abc' }, url: safeUrl('redis://default:s3cret@cache:6379') },
      'connecting',
    );
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'connecting',
      password: '[redacted]',
      redis: { token: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
    expect(text).not.toMatch(/hunter2|tok-123|Bearer abc|s3cret/);
    expect(lines[0].url).toBe('redis://redacted:redacted@cache:6379');
  });

  it('keep their latest warnings and errors, cleaned, with the role that logged them, for /health', () => {
    const recent = new RecentWarnings(() => Date.UTC(2026, 11, 7, 10));
    const logger = createLogger({
      level: 'info',
      destination: new Writable({ write: (_c, _e, cb) => cb() }) as never,
      recent,
      clean: (t) => t.replace('s3cret', '[x]'),
    });
    const shipper = logger.child({ role: 'shipper' });
    shipper.info('not a warning');
    shipper.warn({ path: '/a' }, 'reading paused with s3cret');
    logger.error(new Error('boom'));
    for (let i = 0; i < 12; i++) logger.warn(`later ${i}`);
    const list = recent.list();
    expect(list).toHaveLength(10);
    expect(list.at(-1)).toEqual({ time: '2026-12-07T10:00:00.000Z', level: 'warn', msg: 'later 11' });
    const all = new RecentWarnings(() => 0);
    const again = createLogger({
      level: 'info',
      destination: new Writable({ write: (_c, _e, cb) => cb() }) as never,
      recent: all,
      clean: (t) => t.replace('s3cret', '[x]'),
    });
    again.child({ role: 'shipper' }).warn({ path: '/a' }, 'reading paused with s3cret');
    again.error(new Error('boom'));
    expect(all.list()).toEqual([
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', role: 'shipper', msg: 'reading paused with [x]' },
      { time: '1970-01-01T00:00:00.000Z', level: 'error', msg: 'boom' },
    ]);
  });
});
