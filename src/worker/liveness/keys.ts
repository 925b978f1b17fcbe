import { randomBytes } from 'node:crypto';

// Where workers prove they are alive, beside the queue's own keys (BullMQ's
// "<prefix>:<queue>:" namespace), so that workers of one queue see each other on any
// host and workers of another queue never do.

export interface LivenessKeys {
  /** Hash: incarnation name → what it is (host, pid, start), for every incarnation that took jobs. */
  registry: string;
  /** Set to one live worker for a reaping round (SET NX PX): one reaper at a time. */
  reaper: string;
  /** String with a TTL, refreshed by the incarnation's heartbeat thread. */
  alive(name: string): string;
}

export function livenessKeys(qualifiedQueue: string): LivenessKeys {
  return {
    registry: `${qualifiedQueue}:tta:workers`,
    reaper: `${qualifiedQueue}:tta:reaper`,
    alive: (name) => `${qualifiedQueue}:tta:alive:${name}`,
  };
}

/**
 * A worker incarnation's name: host and pid for people reading `processedBy`, and random
 * bytes so that a pid reused, or a container restarted in place as PID 1 under the same
 * host name, is another incarnation and never the dead one.
 */
export function incarnationName(host: string, pid: number): string {
  return `${host}:${pid}:${randomBytes(4).toString('hex')}`;
}
