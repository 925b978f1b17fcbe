import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, safeUrl } from '../../../src/common/logging/logger.js';

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
});
