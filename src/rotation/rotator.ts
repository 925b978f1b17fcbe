import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Config, RotationPolicy } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { compileGlob, expandGlob, globMatches } from '../common/fs/glob.js';
import { datedCopies, numberedCopies, present } from './copies.js';
import { dateSuffix, isDue } from './due.js';
import { copyTruncate, createExclusive } from './fd-ops.js';
import { finishCompression, gzipFile } from './gzip.js';
import { acquireLock } from './lock.js';
import { groupId, userId } from './owner.js';
import { checkDirectory, checkTrustedState, unsafeFile, UnsafeError } from './safety.js';
import { ShippedCheck } from './shipped.js';
import { describe, regularAt, renameStep } from './step-ops.js';
import { tidyWholeFiles } from './whole-files.js';
import { loadRotationState, saveRotationState, stateFiles, statePath, validateJournal, type Journal, type RotationState, type Step } from './state.js';

// logrotate's job, crash-safe. A rotation is planned as a list of idempotent steps
// (renames, deletes, create, postrotate, record) saved as a journal before the first is
// taken and advanced after each; a run after a crash finishes the journal first.
// Compression and pruning of rotated copies come after, and only for copies the
// shipper has finished; what is left is reported and tried again next run. What it
// refuses, and why it may run as root over another user's directory, is in safety.ts.

export interface RotationReport {
  rotated: string[];
  compressed: string[];
  deleted: string[];
  /** Whole files archived before they were deleted (also in `deleted`). */
  archived: { archive: string; files: string[] }[];
  /** Left alone this time, with the reason (not due, unshipped, unsafe, ...). */
  skipped: { path: string; reason: string }[];
  errors: { path: string; reason: string }[];
}

export interface RotatorDeps {
  now: () => Date;
  logger: Logger;
}

type Options = { dryRun?: boolean; force?: boolean };

const exec = promisify(execFile);

export class Rotator {
  constructor(private readonly config: Config, private readonly deps: RotatorDeps) {}

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

  private async runPolicy(index: number, policy: RotationPolicy, state: RotationState, shipped: ShippedCheck, report: RotationReport, options: Options): Promise<void> {
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
      const ctx = { now: this.deps.now(), dir, sourceDir: glob.dir, archive: this.config.rotation.archive, dryRun: options.dryRun === true };
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
    if (policy.postrotate && policy.sharedscripts && rotatedNow.length > 0 && !options.dryRun) await this.postrotate(policy, report);
    for (const file of files) {
      await this.tidyCopies(file, dir, policy, shipped, report, options).catch((err: unknown) => {
        if (!(err instanceof UnsafeError)) throw err;
        report.errors.push({ path: err.path, reason: err.message });
      });
    }
  }

  private async rotateIfDue(index: number, file: string, dir: Stats, policy: RotationPolicy, state: RotationState, report: RotationReport, options: Options): Promise<boolean> {
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
    const steps = await this.plan(file, policy, now);
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

  /** The steps of one rotation, in order; each can be re-run safely after a crash. */
  private async plan(file: string, policy: RotationPolicy, now: Date): Promise<Step[]> {
    const steps: Step[] = [];
    if (policy.dateext) {
      await datedCopies(file);
      let target = `${file}${dateSuffix(now, policy.frequency === 'size')}`;
      for (let n = 1; (await present(target)) || (await present(`${target}.gz`)); n++) target = `${file}${dateSuffix(now, true)}-${n}`;
      steps.push(policy.copytruncate ? { op: 'copytruncate', from: file, to: target } : { op: 'rename', from: file, to: target });
    } else {
      // A copy and its complete .gz side by side (a crash mid-compression) would make
      // two files want the same next number.
      for (const copy of (await numberedCopies(file)).values()) await finishCompression(copy.replace(/\.gz$/, ''));
      const copies = await numberedCopies(file);
      // Shift from the highest number down; the one that would pass `rotate` is
      // pruned later by tidyCopies (only once shipped), so it moves up too.
      for (const n of [...copies.keys()].sort((a, b) => b - a)) {
        const from = copies.get(n)!;
        steps.push({ op: 'rename', from, to: from.replace(new RegExp(`\\.${n}(\\.gz)?$`), `.${n + 1}$1`) });
      }
      steps.push(policy.copytruncate ? { op: 'copytruncate', from: file, to: `${file}.1` } : { op: 'rename', from: file, to: `${file}.1` });
    }
    if (!policy.copytruncate && policy.create !== false) steps.push({ op: 'create', path: file });
    if (policy.postrotate && !policy.sharedscripts) steps.push({ op: 'postrotate' });
    steps.push({ op: 'record', path: file, at: now.toISOString() });
    return steps;
  }

  private async execute(state: RotationState, dir: Stats, report: RotationReport): Promise<void> {
    const journal = state.journal as Journal;
    const policy = this.config.rotation.policies[journal.policy]!;
    while (journal.done < journal.steps.length) {
      await this.step(journal.steps[journal.done]!, dir, policy, state, report);
      journal.done++;
      await saveRotationState(this.config.dataDir, state);
    }
    state.journal = null;
  }

  /** Resumes an interrupted rotation; false when it cannot (the run then stops, saying why). */
  private async finishJournal(state: RotationState, report: RotationReport): Promise<boolean> {
    const journal = state.journal!;
    const policies = this.config.rotation.policies;
    const invalid = validateJournal(journal, policies.length, (i) => compileGlob(policies[i]!.files).dir, (i, path) => globMatches(compileGlob(policies[i]!.files), path));
    const file = statePath(this.config.dataDir);
    if (invalid) {
      report.errors.push({ path: file, reason: `refusing to resume the rotation journal in ${file}: ${invalid} (remove the "journal" entry once the files are checked)` });
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

  private async step(step: Step, dir: Stats, policy: RotationPolicy, state: RotationState, report: RotationReport): Promise<void> {
    switch (step.op) {
      case 'rename':
        return renameStep(step.from, step.to);
      case 'copytruncate':
        return copyTruncate(step.from, step.to, dir, await regularAt(step.to));
      case 'create':
        return this.createLive(step.path, policy);
      case 'postrotate':
        return this.postrotate(policy, report);
      case 'record':
        state.lastRotated[step.path] = step.at;
        return;
    }
  }

  /** The new live file, created with its final mode (and owner when root) before use. */
  private async createLive(path: string, policy: RotationPolicy): Promise<void> {
    // The application may have made it already; a plant that is no regular file is refused.
    if (policy.create === false || (await regularAt(path))) return;
    const mode = parseInt(policy.create.mode, 8);
    // Created 0600 and only then opened up: the file never has more rights than meant.
    const handle = await createExclusive(path);
    try {
      if (process.getuid?.() === 0 && (policy.create.owner || policy.create.group)) {
        const uid = policy.create.owner ? await userId(policy.create.owner) : -1;
        const gid = policy.create.group ? await groupId(policy.create.group) : -1;
        if (uid !== null && gid !== null) await handle.chown(uid, gid);
        else this.deps.logger.warn({ path, owner: policy.create.owner, group: policy.create.group }, 'create: owner or group unknown on this host; left as root');
      }
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  }

  /** The configured command, never one read from state. */
  private async postrotate(policy: RotationPolicy, report: RotationReport): Promise<void> {
    if (!policy.postrotate) return;
    try {
      await exec('/bin/sh', ['-c', policy.postrotate], { timeout: 60_000 });
    } catch (err) {
      report.errors.push({ path: policy.postrotate, reason: `postrotate failed: ${(err as Error).message}` });
    }
  }

  /** Compress (after delaycompress) and prune rotated copies, only those already shipped. */
  private async tidyCopies(file: string, dir: Stats, policy: RotationPolicy, shipped: ShippedCheck, report: RotationReport, options: Options): Promise<void> {
    const copies = policy.dateext ? await datedCopies(file) : [...(await numberedCopies(file)).entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    const now = this.deps.now().getTime();
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
      if (options.dryRun) {
        report.skipped.push({ path: copy, reason: tooMany || tooOld ? 'would delete' : 'would compress' });
      } else if (tooMany || tooOld) {
        await unlink(copy);
        report.deleted.push(copy);
      } else {
        report.compressed.push(await gzipFile(copy, { level: policy.compressLevel, dir }));
      }
    }
  }
}
