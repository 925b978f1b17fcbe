import type { Config } from '../../common/config/index.js';
import type { Logger } from '../../common/logging/logger.js';
import { LockedError } from '../../rotation/lock.js';
import { Rotator } from '../../rotation/rotator.js';

/** `tta-carbon rotate [--dry-run] [--force]`: prints what it did or would do; exit 1 on errors. */
export async function rotateCommand(config: Config, logger: Logger, options: { dryRun: boolean; force: boolean }): Promise<number> {
  try {
    const r = await new Rotator(config, { now: () => new Date(), logger }).run(options);
    const verb = options.dryRun ? 'would rotate' : 'rotated';
    for (const p of r.rotated) console.log(`${verb} ${p}`);
    for (const p of r.compressed) console.log(`compressed ${p}`);
    for (const a of r.archived) console.log(`archived ${a.files.length} file(s) into ${a.archive}`);
    for (const p of r.deleted) console.log(`deleted ${p}`);
    for (const s of r.skipped) console.log(`left ${s.path}: ${s.reason}`);
    for (const e of r.errors) console.error(`error ${e.path}: ${e.reason}`);
    return r.errors.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof LockedError) {
      console.error(`tta-carbon rotate: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
