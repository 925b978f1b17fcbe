import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { RotationPolicy } from '../common/config/index.js';
import { archiveFiles, openArchiveDir, pruneArchives, type ArchiveTarget } from './archive.js';
import { gzipFile } from './gzip.js';
import type { LongWork } from './long-work.js';
import type { RotationReport } from './report.js';
import type { ShippedCheck } from './shipped.js';
import { UnsafeError } from './safety.js';

// Files written once and never appended (codecarbon reports): never renamed; each is
// compressed in place once older than the policy's period, and past maxage archived
// (archive.ts) and then removed, as the guide's runbook backs up before it deletes.
// Only what the shipper has shipped is touched.

const DAY = 86_400_000;
const PERIOD_DAYS = { daily: 1, weekly: 7, monthly: 30, size: 7 } as const;

export interface WholeFilesContext {
  now: Date;
  /** The policy directory's stat: whose owner the files must have. */
  dir: Stats;
  sourceDir: string;
  archive: { dir: string; keepDays: number };
  dryRun: boolean;
  progress?: LongWork;
}

export async function tidyWholeFiles(
  files: string[],
  policy: RotationPolicy,
  shipped: ShippedCheck,
  report: RotationReport,
  ctx: WholeFilesContext,
): Promise<void> {
  const expired: string[] = [];
  for (const file of files) {
    const age = ctx.now.getTime() - (await lstat(file)).mtimeMs;
    const isExpired = policy.maxage !== undefined && age > policy.maxage * DAY;
    if (!isExpired && (!policy.compress || age < PERIOD_DAYS[policy.frequency] * DAY)) continue;
    // A .gz was compressed only once shipped: it may go without asking again.
    const blocker = file.endsWith('.gz') ? null : await shipped.blocker(file, file);
    if (blocker) {
      report.skipped.push({ path: file, reason: `${blocker}; will retry next run` });
      continue;
    }
    if (isExpired) expired.push(file);
    else if (ctx.dryRun) report.skipped.push({ path: file, reason: 'would compress' });
    else if (!file.endsWith('.gz')) {
      const bar = ctx.progress?.(`compressing ${file}`, (await lstat(file)).size);
      await gzipFile(file, { level: policy.compressLevel, dir: ctx.dir, onProgress: bar && ((done, total) => bar.update(done, total)) }).then(
        (gz) => {
          bar?.finish();
          report.compressed.push(gz);
        },
        (err: unknown) => {
          bar?.finish();
          if (!(err instanceof UnsafeError)) throw err;
          report.errors.push({ path: err.path, reason: err.message });
        },
      );
    }
  }
  const target: ArchiveTarget = { dir: ctx.archive.dir, prefix: basename(ctx.sourceDir), keepDays: ctx.archive.keepDays };
  if (ctx.dryRun) {
    for (const file of expired) report.skipped.push({ path: file, reason: `would archive into ${target.dir} and delete` });
    return;
  }
  if (expired.length === 0) return;
  try {
    await openArchiveDir(target.dir);
    let bytes = 0;
    for (const file of expired) bytes += (await lstat(file)).size;
    const bar = ctx.progress?.(`archiving ${expired.length} file(s) into ${target.dir}`, bytes);
    const archive = await archiveFiles(expired, target, ctx.now, ctx.dir, bar && ((done) => bar.update(done, bytes))).finally(() => bar?.finish());
    report.archived.push({ archive, files: expired });
    report.deleted.push(...expired);
    report.deleted.push(...(await pruneArchives(target, ctx.now)));
  } catch (err) {
    // Nothing was removed: the originals wait for the next run.
    report.errors.push({
      path: err instanceof UnsafeError ? err.path : target.dir,
      reason: `archiving before delete failed, nothing deleted: ${(err as Error).message}`,
    });
  }
}
