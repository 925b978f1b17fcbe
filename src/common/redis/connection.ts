import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';
import { safeUrl } from '../logging/logger.js';

/** Where to connect, as plain data a worker thread can be given (liveness/heartbeat.ts). */
export interface RedisTarget {
  url: string;
  sentinels?: { host: string; port: number }[];
  name?: string;
  sentinelPassword?: string;
}

export function redisTarget(config: Config['redis']): RedisTarget {
  if (!config.sentinels) return { url: config.url };
  return {
    url: config.url,
    sentinels: config.sentinels.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) })),
    name: config.name,
    ...(config.sentinelPassword && { sentinelPassword: config.sentinelPassword }),
  };
}

/** ioredis options for a target: Sentinel's (BullMQ's guidance: ioredis finds the primary and follows failovers) or none. */
export function targetOptions(target: RedisTarget): RedisOptions {
  if (!target.sentinels) return {};
  return {
    sentinels: target.sentinels,
    name: target.name,
    ...(target.sentinelPassword && { sentinelPassword: target.sentinelPassword }),
    sentinelRetryStrategy: (times: number) => Math.min(times * 200, 5_000),
  };
}

/**
 * A connection for BullMQ. `maxRetriesPerRequest: null` is what BullMQ workers require
 * (a blocked BRPOPLPUSH must not fail after N retries); rediss:// turns TLS on.
 */
export function createRedis(config: Config['redis'], extra: RedisOptions = {}): Redis {
  return new Redis(config.url, {
    ...targetOptions(redisTarget(config)),
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
