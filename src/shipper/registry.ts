import { readState, writeState } from '../common/fs/atomic-file.js';
import { systemClock } from '../common/time/clock.js';
import { baseKeyOf, newestGeneration } from '../common/registry/identity.js';
import type { IdScheme } from '../common/queue/contract.js';
import { REGISTRY_VERSION, registryCodec as codec, registryPath, type RegistryEntry } from '../common/registry/registry-file.js';

export type { RegistryEntry };

/** Offsets of every file the shipper knows, on local disk, written only when changed. */
export class Registry {
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly entries: Map<string, RegistryEntry>,
    private readonly now: () => number,
    /** First start of this shipper on this host (registries from before it: when opened). */
    readonly createdAt: number,
    /** A registry without its creation time on disk yet is written once to record it. */
    unsaved: boolean,
  ) {
    this.dirty = unsaved;
  }

  static async open(dataDir: string, now: () => number = systemClock): Promise<{ registry: Registry; recoveredFrom: string | null; rejected: string[] }> {
    const file = registryPath(dataDir);
    const loaded = await readState(file, codec);
    const createdAt = loaded?.state.createdAt;
    const registry = new Registry(file, new Map(Object.entries(loaded?.state.entries ?? {})), now, createdAt ?? now(), createdAt === undefined);
    return {
      registry,
      recoveredFrom: loaded?.from ?? null,
      rejected: loaded?.rejected.map((r) => `${r.file}: ${r.reason}`) ?? [],
    };
  }

  get(key: string): RegistryEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * The ids of a file's documents. A file keeps those it was first read with, so that
   * a batch replayed after a crash (an upgrade in between) overwrites what it replays;
   * a file this registry has never held gets short ones.
   */
  idsFor(key: string): IdScheme | undefined {
    const known = this.entries.get(key);
    return known ? known.ids : 'short';
  }

  /** The newest generation of a file identity (see generationKey), with its key. */
  latest(base: string): [string, RegistryEntry] | undefined {
    return newestGeneration([...this.entries].filter(([key]) => baseKeyOf(key) === base));
  }

  /** Live entries for a path, newest first. */
  byPath(path: string): [string, RegistryEntry][] {
    return [...this.entries].filter(([, e]) => e.path === path).sort((a, b) => b[1].updatedAt - a[1].updatedAt);
  }

  all(): ReadonlyMap<string, RegistryEntry> {
    return this.entries;
  }

  set(key: string, entry: Omit<RegistryEntry, 'updatedAt'>): void {
    const old = this.entries.get(key);
    if (old && old.offset === entry.offset && old.path === entry.path && old.goneSince === entry.goneSince && old.fpLen === entry.fpLen) return;
    this.entries.set(key, { ...entry, updatedAt: this.now() });
    this.dirty = true;
  }

  /** Drops entries of files gone for longer than `maxAgeMs`, so the file cannot grow forever. */
  prune(maxAgeMs: number): number {
    let removed = 0;
    for (const [key, entry] of this.entries) {
      if (entry.goneSince !== undefined && this.now() - entry.goneSince > maxAgeMs) {
        this.entries.delete(key);
        removed++;
      }
    }
    if (removed) this.dirty = true;
    return removed;
  }

  async persist(): Promise<boolean> {
    if (!this.dirty) return false;
    // Clear first: a change made while the write is in flight marks it dirty again.
    this.dirty = false;
    try {
      await writeState(this.file, codec, { version: REGISTRY_VERSION, createdAt: this.createdAt, entries: Object.fromEntries(this.entries) });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    return true;
  }
}
