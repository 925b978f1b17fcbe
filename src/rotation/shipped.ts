import { openRegular } from '../common/fs/safe-open.js';
import type { Config } from '../common/config/index.js';
import { compileGlob, globMatches, type CompiledGlob } from '../common/fs/glob.js';
import { RegistryView } from '../common/registry/registry-view.js';

// Rotation never compresses or deletes what the shipper has not shipped. A file is
// shipped when the shipper's registry holds an entry for it whose offset has reached
// the file's size. Files no shipper input covers are not shipped at all and rotate
// normally.

export class ShippedCheck {
  private constructor(
    private readonly registry: RegistryView,
    private readonly inputs: CompiledGlob[],
  ) {}

  static async open(config: Config): Promise<ShippedCheck> {
    const registry = await RegistryView.open(config.dataDir);
    return new ShippedCheck(
      registry,
      config.shipper.inputs.flatMap((i) => i.paths.map(compileGlob)),
    );
  }

  /** Does a shipper input follow `livePath` (the name the file had before rotation)? */
  covered(livePath: string): boolean {
    return this.inputs.some((g) => globMatches(g, livePath));
  }

  /** Null when the copy may be compressed or deleted; otherwise why not. */
  async blocker(copyPath: string, livePath: string): Promise<string | null> {
    if (!this.covered(livePath)) return null;
    const handle = await openRegular(copyPath);
    try {
      const { size } = await handle.stat();
      const offset = await this.registry.shippedOffset(handle);
      if (offset !== undefined) return offset >= size ? null : `not fully shipped yet (${size - offset} bytes left)`;
      return size === 0 ? null : 'not shipped yet (the shipper has no record of it)';
    } finally {
      await handle.close();
    }
  }
}
