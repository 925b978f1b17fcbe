import { Redis, type RedisOptions } from 'ioredis';

/**
 * A connection for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (a blocked BRPOPLPUSH must not fail after N retries); rediss:// turns TLS on.
 */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: the shipper stops reading meanwhile.
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
    ...extra,
  });
}
