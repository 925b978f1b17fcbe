import type { FileHandle } from 'node:fs/promises';
import { readState } from '../fs/atomic-file.js';
import { newestGeneration, stillSameFile } from './identity.js';
import { registryCodec, registryPath, type RegistryEntry } from './registry-file.js';

/**
 * The shipper's registry as rotation and health see it: a snapshot, read once, never
 * written. What a file's bytes have reached in Redis is decided here and nowhere else.
 */
export class RegistryView {
  private constructor(
    readonly file: string,
    private readonly entries: ReadonlyMap<string, RegistryEntry>,
  ) {}

  static async open(dataDir: string): Promise<RegistryView> {
    const file = registryPath(dataDir);
    const loaded = await readState(file, registryCodec);
    return new RegistryView(file, new Map(Object.entries(loaded?.state.entries ?? {})));
  }

  /** Entries of files the shipper follows now (not marked gone). */
  followed(): RegistryEntry[] {
    return [...this.entries.values()].filter((e) => e.goneSince === undefined);
  }

  /**
   * How far the open file has been shipped, or undefined when the shipper has no record
   * of it. Same inode is not enough (a freed inode is soon reused by a new file): the
   * first line must match too, and the newest generation of that identity decides.
   */
  async shippedOffset(handle: FileHandle): Promise<number | undefined> {
    const st = await handle.stat();
    const matches: [string, RegistryEntry][] = [];
    for (const pair of this.entries) {
      const entry = pair[1];
      if (entry.dev === st.dev && entry.ino === st.ino && (await stillSameFile(handle, entry))) matches.push(pair);
    }
    return newestGeneration(matches)?.[1].offset;
  }
}
