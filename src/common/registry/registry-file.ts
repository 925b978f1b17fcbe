import { join } from 'node:path';
import type { StateCodec } from '../fs/atomic-file.js';
import type { IdScheme } from '../queue/contract.js';
import type { FileIdentity } from './identity.js';

// The shipper's registry on disk: what it has put in Redis of each file. The shipper
// writes it (shipper/registry.ts); rotation and health only read it (registry-view.ts).

export const REGISTRY_VERSION = 1;

export interface RegistryEntry extends FileIdentity {
  path: string;
  /** Offset up to which every byte is in Redis. */
  offset: number;
  updatedAt: number;
  /** When the file was last seen gone (rotated away and closed, or deleted). */
  goneSince?: number;
  /** The ids its documents get (queue contract v3); absent in entries written before. */
  ids?: IdScheme;
}

export interface RegistryFile {
  version: typeof REGISTRY_VERSION;
  /** When this registry was first written: rotated copies older than it were not ours to ship. */
  createdAt?: number;
  entries: Record<string, RegistryEntry>;
}

export function registryPath(dataDir: string): string {
  return join(dataDir, 'registry.json');
}

export const registryCodec: StateCodec<RegistryFile> = {
  encode: (state) => JSON.stringify(state),
  decode(text) {
    if (text.trim() === '') throw new Error('empty file');
    const parsed = JSON.parse(text) as Partial<RegistryFile>;
    if (parsed.version !== REGISTRY_VERSION) throw new Error(`unknown registry version ${String(parsed.version)}`);
    if (typeof parsed.entries !== 'object' || parsed.entries === null) throw new Error('no entries');
    return parsed as RegistryFile;
  },
};
