import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { lstat, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { RotationPolicy } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import { copyTruncate, createExclusive } from './fd-ops.js';
import { groupId, userId } from './owner.js';
import type { RotationReport } from './report.js';
import { UnsafeError } from './safety.js';
import type { RotationState, Step } from './state.js';

// The journal's steps as file operations, each safe to repeat after a crash.

const exec = promisify(execFile);

/**
 * A journal's rename. Done before a crash when the source is gone and the target is a
 * regular file. rename(2) never follows a link at either name, so what moves is the
 * entry, whatever it became since it was checked; a name taken by something that is no
 * regular file stops the rotation, saying so, rather than skipping the step.
 */
export async function renameStep(from: string, to: string): Promise<void> {
  const source = await lstat(from).catch(() => null);
  const target = await lstat(to).catch(() => null);
  if (!source && target?.isFile()) return;
  if (!source) throw new UnsafeError(from, 'vanished before it was rotated', 'check what removed it');
  if (!source.isFile()) throw new UnsafeError(from, 'no longer a regular file', 'remove the plant; nothing was renamed');
  if (target) throw new UnsafeError(to, 'already exists where the rotated copy goes', 'remove it; nothing was renamed');
  await rename(from, to);
}

/** A regular file at `path` (true), nothing (false), or something else (refused). */
export async function regularAt(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (!st) return false;
  if (!st.isFile())
    throw new UnsafeError(path, `${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} where rotation writes`, 'remove it; nothing was written');
  return true;
}

export function describe(step: Step): string {
  if (step.op === 'rename') return `rename ${step.from} to ${step.to}`;
  if (step.op === 'copytruncate') return `copy ${step.from} to ${step.to} and truncate it`;
  if (step.op === 'create') return `create ${step.path}`;
  if (step.op === 'postrotate') return 'run postrotate';
  return `record rotation of ${step.path}`;
}

/** One journal step, carried out; safe to repeat after a crash. */
export async function runStep(
  step: Step,
  ctx: { dir: Stats; policy: RotationPolicy; state: RotationState; report: RotationReport; logger: Logger },
): Promise<void> {
  const { dir, policy, state, report } = ctx;
  switch (step.op) {
    case 'rename':
      return renameStep(step.from, step.to);
    case 'copytruncate':
      return copyTruncate(step.from, step.to, dir, await regularAt(step.to));
    case 'create':
      return createLive(step.path, policy, ctx.logger);
    case 'postrotate':
      return postrotate(policy, report);
    case 'record':
      state.lastRotated[step.path] = step.at;
      return;
  }
}

/** The new live file, created with its final mode (and owner when root) before use. */
async function createLive(path: string, policy: RotationPolicy, logger: Logger): Promise<void> {
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
      else logger.warn({ path, owner: policy.create.owner, group: policy.create.group }, 'create: owner or group unknown on this host; left as root');
    }
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** The configured command, never one read from state. */
export async function postrotate(policy: RotationPolicy, report: RotationReport): Promise<void> {
  if (!policy.postrotate) return;
  try {
    await exec('/bin/sh', ['-c', policy.postrotate], { timeout: 60_000 });
  } catch (err) {
    report.errors.push({ path: policy.postrotate, reason: `postrotate failed: ${(err as Error).message}` });
  }
}
