import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import { safeUrl } from '../logging/logger.js';

/**
 * A connection for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (a blocked BRPOPLPUSH must not fail after N retries); rediss:// turns TLS on.
 */
export function createRedis(config: Config['redis'], extra: RedisOptions = {}): Redis {
  const sentinel: RedisOptions = config.sentinels
    ? {
        // BullMQ's guidance for Sentinel: ioredis finds the primary and follows failovers.
        sentinels: config.sentinels.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) })),
        name: config.name,
        ...(config.sentinelPassword && { sentinelPassword: config.sentinelPassword }),
        sentinelRetryStrategy: (times: number) => Math.min(times * 200, 5_000),
      }
    : {};
  return new Redis(config.url, {
    ...sentinel,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    // Reconnect forever with a capped backoff: the shipper stops reading meanwhile.
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
    ...extra,
  });
}

/** Where Redis is, for logs: the sentinels and master name, or the URL without its password. */
export function redisLabel(config: Config['redis']): string {
  return config.sentinels ? `sentinel ${config.name} via ${config.sentinels.join(',')}` : safeUrl(config.url);
}
