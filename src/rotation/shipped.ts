import { openRegular } from '../common/fs/safe-open.js';
import type { Config } from '../common/config/index.js';
import { compileGlob } from '../shipper/inputs/glob.js';
import { newestGeneration, stillSameFile } from '../shipper/identity.js';
import { Registry, type RegistryEntry } from '../shipper/registry.js';

// Rotation never compresses or deletes what the shipper has not shipped. A file is
// shipped when the shipper's registry holds an entry for its inode whose offset has
// reached the file's size. Files no shipper input covers are not shipped at all and
// rotate normally.

export class ShippedCheck {
  private constructor(private readonly registry: Registry, private readonly inputs: RegExp[]) {}

  static async open(config: Config): Promise<ShippedCheck> {
    const { registry } = await Registry.open(config.dataDir);
    const inputs = config.shipper.inputs.flatMap((i) => i.paths.map((p) => {
      const g = compileGlob(p);
      return new RegExp(`^${g.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${g.regex.source.slice(1, -1)}$`);
    }));
    return new ShippedCheck(registry, inputs);
  }

  /** Does a shipper input follow `livePath` (the name the file had before rotation)? */
  covered(livePath: string): boolean {
    return this.inputs.some((r) => r.test(livePath));
  }

  /** Null when the copy may be compressed or deleted; otherwise why not. */
  async blocker(copyPath: string, livePath: string): Promise<string | null> {
    if (!this.covered(livePath)) return null;
    const handle = await openRegular(copyPath);
    const st = await handle.stat();
    try {
      const matches: [string, RegistryEntry][] = [];
      for (const [key, entry] of this.registry.all()) {
        // Same inode is not enough: a freed inode is soon reused by a new file.
        if (entry.dev === st.dev && entry.ino === st.ino && (await stillSameFile(handle, entry))) matches.push([key, entry]);
      }
      // The newest generation of the copy's identity decides (see generationKey).
      const entry = newestGeneration(matches)?.[1];
      if (entry) return entry.offset >= st.size ? null : `not fully shipped yet (${st.size - entry.offset} bytes left)`;
    } finally {
      await handle.close();
    }
    return st.size === 0 ? null : 'not shipped yet (the shipper has no record of it)';
  }
}
