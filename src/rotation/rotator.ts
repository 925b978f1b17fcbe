import { execFile } from 'node:child_process';
import { copyFile, lstat, mkdir, open, readdir, rename, stat, truncate, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Config, RotationPolicy } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { compileGlob, expandGlob } from '../shipper/inputs/glob.js';
import { dateSuffix, isDue } from './due.js';
import { finishCompression, gzipFile } from './gzip.js';
import { acquireLock } from './lock.js';
import { checkDirectory, unsafeFile, UnsafeError } from './safety.js';
import { ShippedCheck } from './shipped.js';
import { loadRotationState, saveRotationState, statePath, type Journal, type RotationState, type Step } from './state.js';

// logrotate's job, crash-safe. A rotation is planned as a list of idempotent steps
// (renames, deletes, create, postrotate, record) saved as a journal before the first is
// taken and advanced after each; a run after a crash finishes the journal first.
// Compression and pruning of rotated copies come after, and only for copies the
// shipper has finished; what is left is reported and tried again next run.

export interface RotationReport {
  rotated: string[];
  compressed: string[];
  deleted: string[];
  /** Left alone this time, with the reason (not due, unshipped, unsafe, ...). */
  skipped: { path: string; reason: string }[];
  errors: { path: string; reason: string }[];
}

export interface RotatorDeps {
  now: () => Date;
  logger: Logger;
}

const exec = promisify(execFile);

export class Rotator {
  constructor(private readonly config: Config, private readonly deps: RotatorDeps) {}

  async run(options: { dryRun?: boolean; force?: boolean } = {}): Promise<RotationReport> {
    const report: RotationReport = { rotated: [], compressed: [], deleted: [], skipped: [], errors: [] };
    await mkdir(this.config.dataDir, { recursive: true, mode: 0o700 });
    const release = await acquireLock(`${statePath(this.config.dataDir)}.lock`);
    try {
      const state = await loadRotationState(this.config.dataDir);
      if (state.journal && !options.dryRun) await this.finishJournal(state, report);
      const shipped = await ShippedCheck.open(this.config);
      for (const [index, policy] of this.config.rotation.policies.entries()) {
        try {
          await this.runPolicy(index, policy, state, shipped, report, options);
        } catch (err) {
          const path = dirname(policy.files);
          if (err instanceof UnsafeError) report.errors.push({ path, reason: err.message });
          else if ((err as NodeJS.ErrnoException).code === 'ENOENT' && policy.missingok) report.skipped.push({ path, reason: 'directory missing (missingok)' });
          else report.errors.push({ path, reason: (err as Error).message });
        }
      }
      if (!options.dryRun) await saveRotationState(this.config.dataDir, state);
    } finally {
      await release();
    }
    return report;
  }

  private async runPolicy(index: number, policy: RotationPolicy, state: RotationState, shipped: ShippedCheck, report: RotationReport, options: { dryRun?: boolean; force?: boolean }): Promise<void> {
    const glob = compileGlob(policy.files);
    await checkDirectory(glob.dir);
    const files = await expandGlob(glob);
    if (files.length === 0 && !policy.missingok) report.errors.push({ path: policy.files, reason: 'no file matches (missingok is off)' });
    const rotatedNow: string[] = [];
    for (const file of files) {
      const unsafe = await unsafeFile(file);
      if (unsafe) {
        report.skipped.push({ path: file, reason: unsafe });
        continue;
      }
      if (policy.wholeFiles) await this.archiveWholeFile(file, policy, shipped, report, options);
      else if (await this.rotateIfDue(index, file, policy, state, report, options)) rotatedNow.push(file);
    }
    if (policy.postrotate && policy.sharedscripts && rotatedNow.length > 0 && !options.dryRun) await this.postrotate(policy.postrotate, report);
    if (!policy.wholeFiles) for (const file of files) await this.tidyCopies(file, policy, shipped, report, options);
  }

  private async rotateIfDue(index: number, file: string, policy: RotationPolicy, state: RotationState, report: RotationReport, options: { dryRun?: boolean; force?: boolean }): Promise<boolean> {
    const now = this.deps.now();
    const { size } = await stat(file);
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
    await this.execute(state, report);
    report.rotated.push(file);
    return true;
  }

  /** The steps of one rotation, in order; each can be re-run safely after a crash. */
  private async plan(file: string, policy: RotationPolicy, now: Date): Promise<Step[]> {
    const steps: Step[] = [];
    if (policy.dateext) {
      let target = `${file}${dateSuffix(now, policy.frequency === 'size')}`;
      for (let n = 1; (await exists(target)) || (await exists(`${target}.gz`)); n++) target = `${file}${dateSuffix(now, true)}-${n}`;
      steps.push(policy.copytruncate ? { op: 'create', path: `copy:${file}>${target}` } : { op: 'rename', from: file, to: target });
    } else {
      const copies = await numberedCopies(file);
      // Shift from the highest number down; the one that would pass `rotate` is
      // pruned later by tidyCopies (only once shipped), so it moves up too.
      for (const n of [...copies.keys()].sort((a, b) => b - a)) {
        const from = copies.get(n)!;
        steps.push({ op: 'rename', from, to: from.replace(new RegExp(`\\.${n}(\\.gz)?$`), `.${n + 1}$1`) });
      }
      steps.push(policy.copytruncate ? { op: 'create', path: `copy:${file}>${file}.1` } : { op: 'rename', from: file, to: `${file}.1` });
    }
    if (!policy.copytruncate && policy.create !== false) steps.push({ op: 'create', path: file });
    if (policy.postrotate && !policy.sharedscripts) steps.push({ op: 'postrotate', command: policy.postrotate });
    steps.push({ op: 'record', path: file, at: now.toISOString() });
    return steps;
  }

  private async execute(state: RotationState, report: RotationReport): Promise<void> {
    const journal = state.journal as Journal;
    const policy = this.config.rotation.policies[journal.policy]!;
    while (journal.done < journal.steps.length) {
      await this.step(journal.steps[journal.done]!, policy, state, report);
      journal.done++;
      await saveRotationState(this.config.dataDir, state);
    }
    state.journal = null;
  }

  private async finishJournal(state: RotationState, report: RotationReport): Promise<void> {
    this.deps.logger.warn({ file: state.journal!.file, done: state.journal!.done, steps: state.journal!.steps.length }, 'resuming an interrupted rotation');
    await this.execute(state, report);
    await saveRotationState(this.config.dataDir, state);
  }

  private async step(step: Step, policy: RotationPolicy, state: RotationState, report: RotationReport): Promise<void> {
    switch (step.op) {
      case 'rename':
        // Done before a crash when the source is gone and the target is there.
        if ((await exists(step.from)) && !(await exists(step.to))) await rename(step.from, step.to);
        return;
      case 'create':
        if (step.path.startsWith('copy:')) return this.copyTruncate(step.path.slice(5));
        return this.createLive(step.path, policy);
      case 'postrotate':
        return this.postrotate(step.command, report);
      case 'record':
        state.lastRotated[step.path] = step.at;
        return;
    }
  }

  /** The new live file, created with its final mode (and owner when root) before use. */
  private async createLive(path: string, policy: RotationPolicy): Promise<void> {
    if (policy.create === false || (await exists(path))) return;
    const mode = parseInt(policy.create.mode, 8);
    // Created 0600 and only then opened up: the file never has more rights than meant.
    const handle = await open(path, 'wx', 0o600);
    try {
      if (process.getuid?.() === 0 && (policy.create.owner || policy.create.group)) {
        const uid = policy.create.owner ? await idOf('-u', policy.create.owner) : -1;
        const gid = policy.create.group ? await groupId(policy.create.group) : -1;
        if (uid !== null && gid !== null) await handle.chown(uid, gid);
        else this.deps.logger.warn({ path, owner: policy.create.owner, group: policy.create.group }, 'create: owner or group unknown on this host; left as root');
      }
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  }

  /** copytruncate (opt-in): copy, fsync, then truncate in place; see README for the loss window. */
  private async copyTruncate(spec: string): Promise<void> {
    const [file, target] = spec.split('>') as [string, string];
    if (!(await exists(target))) {
      await copyFile(file, `${target}.tmp`);
      const h = await open(`${target}.tmp`, 'r');
      await h.sync();
      await h.close();
      await rename(`${target}.tmp`, target);
    }
    await truncate(file, 0);
  }

  private async postrotate(command: string, report: RotationReport): Promise<void> {
    try {
      await exec('/bin/sh', ['-c', command], { timeout: 60_000 });
    } catch (err) {
      report.errors.push({ path: command, reason: `postrotate failed: ${(err as Error).message}` });
    }
  }

  /** Compress (after delaycompress) and prune rotated copies, only those already shipped. */
  private async tidyCopies(file: string, policy: RotationPolicy, shipped: ShippedCheck, report: RotationReport, options: { dryRun?: boolean }): Promise<void> {
    const copies = policy.dateext ? await datedCopies(file) : [...(await numberedCopies(file)).entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
    const now = this.deps.now().getTime();
    for (const [i, copy] of copies.entries()) {
      const generation = i + 1;
      await finishCompression(copy.replace(/\.gz$/, ''));
      if (!(await exists(copy))) continue;
      const tooMany = generation > policy.rotate;
      const tooOld = policy.maxage !== undefined && now - (await stat(copy)).mtimeMs > policy.maxage * 86_400_000;
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
        report.compressed.push(await gzipFile(copy, policy.compressLevel));
      }
    }
  }

  /** Reports: compressed in place once older than the period, deleted after maxage. */
  private async archiveWholeFile(file: string, policy: RotationPolicy, shipped: ShippedCheck, report: RotationReport, options: { dryRun?: boolean }): Promise<void> {
    const age = this.deps.now().getTime() - (await stat(file)).mtimeMs;
    const period = { daily: 1, weekly: 7, monthly: 30, size: 7 }[policy.frequency] * 86_400_000;
    const expired = policy.maxage !== undefined && age > policy.maxage * 86_400_000;
    if (!expired && (!policy.compress || age < period)) return;
    const live = file.replace(/\.gz$/, '');
    const blocker = file.endsWith('.gz') ? null : await shipped.blocker(file, live);
    if (blocker) {
      report.skipped.push({ path: file, reason: `${blocker}; will retry next run` });
      return;
    }
    if (options.dryRun) report.skipped.push({ path: file, reason: expired ? 'would delete' : 'would compress' });
    else if (expired) {
      await unlink(file);
      report.deleted.push(file);
    } else if (!file.endsWith('.gz')) report.compressed.push(await gzipFile(file, policy.compressLevel));
  }
}

/** carbon.log.N and carbon.log.N.gz by N. */
async function numberedCopies(file: string): Promise<Map<number, string>> {
  const name = basename(file);
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)(\\.gz)?$`);
  const out = new Map<number, string>();
  for (const entry of await readdir(dirname(file))) {
    const m = re.exec(entry);
    if (m && (await lstat(join(dirname(file), entry))).isFile()) out.set(Number(m[1]), join(dirname(file), entry));
  }
  return out;
}

/** carbon.log-YYYYMMDD[...][.gz], newest first (the suffix sorts by date). */
async function datedCopies(file: string): Promise<string[]> {
  const name = basename(file);
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}(?:-\\d{6})?(?:-\\d+)?(\\.gz)?$`);
  const entries = (await readdir(dirname(file))).filter((e) => re.test(e)).sort().reverse();
  return entries.map((e) => join(dirname(file), e));
}

async function idOf(flag: '-u', user: string): Promise<number | null> {
  try {
    return Number((await exec('id', [flag, user])).stdout.trim());
  } catch {
    return null;
  }
}

async function groupId(group: string): Promise<number | null> {
  try {
    return Number((await exec('getent', ['group', group])).stdout.split(':')[2]);
  } catch {
    return null;
  }
}

function describe(step: Step): string {
  if (step.op === 'rename') return `rename ${step.from} to ${step.to}`;
  if (step.op === 'create') return step.path.startsWith('copy:') ? `copy and truncate ${step.path.slice(5)}` : `create ${step.path}`;
  if (step.op === 'postrotate') return `run postrotate: ${step.command}`;
  return `record rotation of ${step.path}`;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

