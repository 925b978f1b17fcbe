import type { Stats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config, RotationPolicy } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { compileGlob, expandGlob, globMatches } from '../common/fs/glob.js';
import { isDue } from './due.js';
import { acquireLock } from './lock.js';
import { checkDirectory, checkTrustedState, unsafeFile, UnsafeError } from './safety.js';
import type { RotationReport } from './report.js';
import { ShippedCheck } from './shipped.js';
import { describe, postrotate, runStep } from './steps.js';
import { planRotation } from './plan.js';
import { type LongWork, longWork } from './long-work.js';
import { tidyCopies } from './tidy.js';
import { tidyWholeFiles } from './whole-files.js';
import { loadRotationState, saveRotationState, stateFiles, statePath, validateJournal, type Journal, type RotationState } from './state.js';

// logrotate's job, crash-safe. A rotation is planned as a list of idempotent steps
// (renames, deletes, create, postrotate, record) saved as a journal before the first is
// taken and advanced after each; a run after a crash finishes the journal first.
// Compression and pruning of rotated copies come after, and only for copies the
// shipper has finished; what is left is reported and tried again next run. What it
// refuses, and why it may run as root over another user's directory, is in safety.ts.

export type { RotationReport };

export interface RotatorDeps {
  now: () => Date;
  logger: Logger;
}

type Options = { dryRun?: boolean; force?: boolean };

export class Rotator {
  private readonly longWork: LongWork;

  constructor(
    private readonly config: Config,
    private readonly deps: RotatorDeps,
  ) {
    this.longWork = longWork(deps.logger, () => deps.now().getTime());
  }

  async run(options: Options = {}): Promise<RotationReport> {
    const report: RotationReport = { rotated: [], compressed: [], deleted: [], archived: [], skipped: [], errors: [] };
    const { dataDir } = this.config;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    try {
      // As root, state a non-root user could write is never read, let alone carried out.
      await checkTrustedState(dataDir, [...stateFiles(dataDir), ...['', '.tmp', '.prev'].map((s) => join(dataDir, `registry.json${s}`))]);
    } catch (err) {
      if (!(err instanceof UnsafeError)) throw err;
      report.errors.push({ path: err.path, reason: err.message });
      return report;
    }
    const release = await acquireLock(`${statePath(dataDir)}.lock`);
    try {
      const state = await loadRotationState(dataDir);
      if (state.journal && !options.dryRun && !(await this.finishJournal(state, report))) return report;
      const shipped = await ShippedCheck.open(this.config);
      for (const [index, policy] of this.config.rotation.policies.entries()) {
        try {
          await this.runPolicy(index, policy, state, shipped, report, options);
        } catch (err) {
          const path = dirname(policy.files);
          if (err instanceof UnsafeError) report.errors.push({ path: err.path, reason: err.message });
          else if ((err as NodeJS.ErrnoException).code === 'ENOENT' && policy.missingok) report.skipped.push({ path, reason: 'directory missing (missingok)' });
          else report.errors.push({ path, reason: (err as Error).message });
        }
      }
      if (!options.dryRun) await saveRotationState(dataDir, state);
    } finally {
      await release();
    }
    return report;
  }

  private async runPolicy(
    index: number,
    policy: RotationPolicy,
    state: RotationState,
    shipped: ShippedCheck,
    report: RotationReport,
    options: Options,
  ): Promise<void> {
    const glob = compileGlob(policy.files);
    const dir = await checkDirectory(glob.dir);
    // Whole files compressed in place stay the policy's until maxage removes them.
    const files = await expandGlob(glob, { compressed: policy.wholeFiles });
    if (files.length === 0 && !policy.missingok) report.errors.push({ path: policy.files, reason: 'no file matches (missingok is off)' });
    const rotatedNow: string[] = [];
    const safe: string[] = [];
    for (const file of files) {
      const unsafe = await unsafeFile(file, dir);
      if (unsafe) report.skipped.push({ path: file, reason: unsafe });
      else safe.push(file);
    }
    if (policy.wholeFiles) {
      const ctx = {
        now: this.deps.now(),
        dir,
        sourceDir: glob.dir,
        archive: this.config.rotation.archive,
        dryRun: options.dryRun === true,
        progress: this.longWork,
      };
      return tidyWholeFiles(safe, policy, shipped, report, ctx);
    }
    for (const file of safe) {
      try {
        if (await this.rotateIfDue(index, file, dir, policy, state, report, options)) rotatedNow.push(file);
      } catch (err) {
        if (!(err instanceof UnsafeError)) throw err;
        report.errors.push({ path: err.path, reason: err.message });
      }
    }
    if (policy.postrotate && policy.sharedscripts && rotatedNow.length > 0 && !options.dryRun) await postrotate(policy, report);
    for (const file of files) {
      await tidyCopies(file, policy, shipped, report, {
        dir,
        now: this.deps.now(),
        dryRun: options.dryRun === true,
        progress: this.longWork,
      }).catch((err: unknown) => {
        if (!(err instanceof UnsafeError)) throw err;
        report.errors.push({ path: err.path, reason: err.message });
      });
    }
  }

  private async rotateIfDue(
    index: number,
    file: string,
    dir: Stats,
    policy: RotationPolicy,
    state: RotationState,
    report: RotationReport,
    options: Options,
  ): Promise<boolean> {
    const now = this.deps.now();
    const { size } = await lstat(file);
    const last = state.lastRotated[file];
    if (!last && !options.force) {
      // First sight, as logrotate does: remember it, rotate from the next period on.
      if (!options.dryRun) state.lastRotated[file] = now.toISOString();
      report.skipped.push({ path: file, reason: 'first seen; rotation starts next period' });
      return false;
    }
    if (!options.force && !isDue(policy, new Date(last!), now, size, this.config.timeZone)) {
      report.skipped.push({ path: file, reason: 'not due' });
      return false;
    }
    if (size === 0 && !policy.ifempty) {
      report.skipped.push({ path: file, reason: 'empty (notifempty)' });
      return false;
    }
    const steps = await planRotation(file, policy, now);
    if (options.dryRun) {
      report.rotated.push(file);
      for (const s of steps) report.skipped.push({ path: file, reason: `would ${describe(s)}` });
      return true;
    }
    state.journal = { policy: index, file, steps, done: 0 };
    await saveRotationState(this.config.dataDir, state);
    await this.execute(state, dir, report);
    report.rotated.push(file);
    return true;
  }

  private async execute(state: RotationState, dir: Stats, report: RotationReport): Promise<void> {
    const journal = state.journal as Journal;
    const policy = this.config.rotation.policies[journal.policy]!;
    while (journal.done < journal.steps.length) {
      await runStep(journal.steps[journal.done]!, { dir, policy, state, report, logger: this.deps.logger });
      journal.done++;
      await saveRotationState(this.config.dataDir, state);
    }
    state.journal = null;
  }

  /** Resumes an interrupted rotation; false when it cannot (the run then stops, saying why). */
  private async finishJournal(state: RotationState, report: RotationReport): Promise<boolean> {
    const journal = state.journal!;
    const policies = this.config.rotation.policies;
    const invalid = validateJournal(
      journal,
      policies.length,
      (i) => compileGlob(policies[i]!.files).dir,
      (i, path) => globMatches(compileGlob(policies[i]!.files), path),
    );
    const file = statePath(this.config.dataDir);
    if (invalid) {
      report.errors.push({
        path: file,
        reason: `refusing to resume the rotation journal in ${file}: ${invalid} (remove the "journal" entry once the files are checked)`,
      });
      return false;
    }
    this.deps.logger.warn({ file: journal.file, done: journal.done, steps: journal.steps.length }, 'resuming an interrupted rotation');
    try {
      const dir = await checkDirectory(compileGlob(policies[journal.policy]!.files).dir);
      await this.execute(state, dir, report);
    } catch (err) {
      report.errors.push({ path: journal.file, reason: `cannot finish the interrupted rotation: ${(err as Error).message}` });
      return false;
    }
    await saveRotationState(this.config.dataDir, state);
    return true;
  }
}
