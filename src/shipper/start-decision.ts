import { generationKey } from '../common/registry/identity.js';
import type { RegistryEntry } from '../common/registry/registry-file.js';

export type StartDecision =
  /** The registry's entry is this file: read on from its offset. */
  | { kind: 'resume'; key: string; offset: number }
  /** Never seen: from the beginning, or from the end with `startAt: end`. */
  | { kind: 'new'; key: string; offset: number }
  /** Seen before but not this file (reused inode, or shorter than what was read): its own generation, from 0. */
  | { kind: 'reused'; key: string; offset: 0; previous: [string, RegistryEntry] };

/**
 * Where to start reading a file just opened at the live path, from what the registry
 * knows of its identity. The live path never holds a file after it was marked gone, and
 * a file shorter than what was read of it is not that file: a new one under a reused
 * identity, read from 0 under a generation key of its own so its ids cannot collide.
 */
export function decideStart(base: string, known: [string, RegistryEntry] | undefined, size: number, startAt: 'beginning' | 'end', now: number): StartDecision {
  if (!known) return { kind: 'new', key: base, offset: startAt === 'end' ? size : 0 };
  const [key, entry] = known;
  if (entry.goneSince === undefined && entry.offset <= size) return { kind: 'resume', key, offset: entry.offset };
  return { kind: 'reused', key: generationKey(base, now), offset: 0, previous: known };
}
