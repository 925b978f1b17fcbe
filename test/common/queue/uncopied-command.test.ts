import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { UncopiedCommand } from '../../../src/common/queue/payload.js';
import { redisClient } from '../../helpers/services.js';

// The shipper writes payload bytes to the Redis socket itself (no copy by ioredis):
// what Redis stores must be exactly the bytes, whatever they hold, and commands sent
// around it on the same connection must not be disturbed.
describe('UncopiedCommand', () => {
  const redis = redisClient();
  const key = `test:uncopied:${process.pid}:${Date.now()}`;
  afterAll(() => redis.del(key));

  it('stores binary bytes exactly, beside text arguments and empty buffers, among other commands', async () => {
    const bytes = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.from('\r\n$5\r\n*3\r\nü\0')]);
    const replies = await Promise.all([
      redis.set(`${key}:before`, 'x'),
      redis.sendCommand(new UncopiedCommand('hsetnx', [key, 'fält', bytes])),
      redis.sendCommand(new UncopiedCommand('hsetnx', [key, 'empty', Buffer.alloc(0)])),
      redis.sendCommand(new UncopiedCommand('hsetnx', [key, 'fält', Buffer.from('second')])),
      redis.get(`${key}:before`),
    ]);
    expect(replies).toEqual(['OK', 1, 1, 0, 'x']);
    expect((await redis.hgetBuffer(key, 'fält'))!.equals(bytes)).toBe(true);
    expect((await redis.hgetBuffer(key, 'empty'))!.length).toBe(0);
    await redis.del(`${key}:before`);
  });
});
