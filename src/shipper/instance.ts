import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readState, writeState, type StateCodec } from '../common/fs/atomic-file.js';
import type { Logger } from '../common/logging/logger.js';

// Who is shipping: an id made once per data directory (like Filebeat's meta.json) and
// kept across restarts and upgrades, so a replay after a crash reuses its job and
// document ids. It goes into every id, so two hosts reading byte-identical files (same
// device, inode and first line, as on cloned VMs) never collide. A data directory that
// turns up under another host name was copied (a VM image, a restored backup): it gets
// a new id, or both hosts would ship under one.

export const INSTANCE_VERSION = 1;

export interface Instance {
  version: typeof INSTANCE_VERSION;
  /** Short, lowercase, no ":" (BullMQ job ids) and no "." (our id separator). */
  id: string;
  hostName: string;
  createdAt: string;
}

const codec: StateCodec<Instance> = {
  encode: (s) => JSON.stringify(s, null, 1),
  decode(text) {
    const s = JSON.parse(text) as Partial<Instance>;
    if (s.version !== INSTANCE_VERSION || typeof s.id !== 'string' || !/^[a-z0-9]{4,32}$/.test(s.id) || typeof s.hostName !== 'string') {
      throw new Error(`not a version ${INSTANCE_VERSION} instance file`);
    }
    return s as Instance;
  },
};

export function instancePath(dataDir: string): string {
  return join(dataDir, 'instance.json');
}

export async function loadInstance(dataDir: string, hostName: string, now: () => Date, logger: Logger): Promise<Instance> {
  const loaded = await readState(instancePath(dataDir), codec);
  if (loaded && loaded.state.hostName === hostName) return loaded.state;
  const instance: Instance = { version: INSTANCE_VERSION, id: randomBytes(6).toString('hex'), hostName, createdAt: now().toISOString() };
  if (loaded)
    logger.warn(
      { previous: loaded.state.id, previousHost: loaded.state.hostName, id: instance.id, hostName },
      'data directory made on another host (copied?); shipping under a new instance id',
    );
  await writeState(instancePath(dataDir), codec, instance, 0o600);
  return instance;
}
