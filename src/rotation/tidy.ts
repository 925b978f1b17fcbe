import type { Stats } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import type { RotationPolicy } from '../common/config/index.js';
import { datedCopies, numberedCopies, present } from './copies.js';
import { finishCompression, gzipFile } from './gzip.js';
import type { RotationReport } from './report.js';
import type { ShippedCheck } from './shipped.js';
import type { LongWork } from './long-work.js';

// After rotation: the copies a policy keeps, compressed and pruned. Never one the
// shipper has not finished; that one is reported and tried again next run.

/** Compress (after delaycompress) and prune rotated copies, only those already shipped. */
export async function tidyCopies(
  file: string,
  policy: RotationPolicy,
  shipped: ShippedCheck,
  report: RotationReport,
  ctx: { dir: Stats; now: Date; dryRun: boolean; progress?: LongWork },
): Promise<void> {
  const { dir } = ctx;
  const copies = policy.dateext ? await datedCopies(file) : [...(await numberedCopies(file)).entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
  const now = ctx.now.getTime();
  for (const [i, copy] of copies.entries()) {
    const generation = i + 1;
    await finishCompression(copy.replace(/\.gz$/, ''));
    if (!(await present(copy))) continue;
    const tooMany = generation > policy.rotate;
    const tooOld = policy.maxage !== undefined && now - (await lstat(copy)).mtimeMs > policy.maxage * 86_400_000;
    const wantsCompress = policy.compress && !copy.endsWith('.gz') && generation > (policy.delaycompress ? 1 : 0);
    if (!tooMany && !tooOld && !wantsCompress) continue;
    // A .gz was compressed only once shipped: it may go without asking again.
    const blocker = copy.endsWith('.gz') ? null : await shipped.blocker(copy, file);
    if (blocker) {
      report.skipped.push({ path: copy, reason: `${blocker}; will retry next run` });
      continue;
    }
    if (ctx.dryRun) {
      report.skipped.push({ path: copy, reason: tooMany || tooOld ? 'would delete' : 'would compress' });
    } else if (tooMany || tooOld) {
      await unlink(copy);
      report.deleted.push(copy);
    } else {
      const bar = ctx.progress?.(`compressing ${copy}`, (await lstat(copy)).size);
      report.compressed.push(await gzipFile(copy, { level: policy.compressLevel, dir, onProgress: bar && ((done, total) => bar.update(done, total)) }));
      bar?.finish();
    }
  }
}
