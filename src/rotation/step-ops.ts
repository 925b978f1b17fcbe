import { lstat, rename } from 'node:fs/promises';
import { UnsafeError } from './safety.js';
import type { Step } from './state.js';

// The journal's steps as file operations, each safe to repeat after a crash.

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
  if (!st.isFile()) throw new UnsafeError(path, `${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'} where rotation writes`, 'remove it; nothing was written');
  return true;
}

export function describe(step: Step): string {
  if (step.op === 'rename') return `rename ${step.from} to ${step.to}`;
  if (step.op === 'copytruncate') return `copy ${step.from} to ${step.to} and truncate it`;
  if (step.op === 'create') return `create ${step.path}`;
  if (step.op === 'postrotate') return 'run postrotate';
  return `record rotation of ${step.path}`;
}
