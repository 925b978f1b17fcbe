import { basename, dirname, join } from 'node:path';
import { readState, writeState, type StateCodec } from '../common/fs/atomic-file.js';

// logrotate's status file, versioned and written atomically (0600): when each file was
// last rotated, and the journal of a rotation in progress, so a crash resumes the
// remaining steps instead of repeating or skipping them. A journal is data, not a
// program: it holds no command (postrotate runs the configured one), and before a
// journal is resumed every step is checked to stay inside its policy's directory and
// to name only the policy's file and its copies (validateJournal).

export const ROTATION_STATE_VERSION = 1;

export type Step =
  | { op: 'rename'; from: string; to: string }
  /** Create the live file. */
  | { op: 'create'; path: string }
  /** copytruncate: copy `from` to `to`, then truncate `from`. */
  | { op: 'copytruncate'; from: string; to: string }
  /** Run the policy's configured postrotate command. */
  | { op: 'postrotate' }
  | { op: 'record'; path: string; at: string };

export interface Journal {
  policy: number;
  file: string;
  steps: Step[];
  /** Steps [0, done) are complete. */
  done: number;
}

export interface RotationState {
  version: typeof ROTATION_STATE_VERSION;
  /** ISO time of the last rotation (or first sight) per live file path. */
  lastRotated: Record<string, string>;
  journal: Journal | null;
}

const codec: StateCodec<RotationState> = {
  encode: (s) => JSON.stringify(s, null, 1),
  decode(text) {
    if (text.trim() === '') throw new Error('empty file');
    const s = JSON.parse(text) as Partial<RotationState>;
    if (s.version !== ROTATION_STATE_VERSION) throw new Error(`unknown rotation state version ${String(s.version)}`);
    const journal = s.journal ? { ...s.journal, steps: (s.journal.steps ?? []).map(upgradeStep) } : null;
    return { version: s.version, lastRotated: s.lastRotated ?? {}, journal };
  },
};

/** Steps as earlier releases wrote them: `create copy:<a>><b>`, and postrotate with its command (ignored). */
function upgradeStep(step: Step): Step {
  const legacy = step as { op: string; path?: string };
  if (legacy.op === 'create' && legacy.path?.startsWith('copy:')) {
    const [from, to] = legacy.path.slice(5).split('>') as [string, string];
    return { op: 'copytruncate', from, to };
  }
  if (legacy.op === 'postrotate') return { op: 'postrotate' };
  return step;
}

/**
 * Null when the journal only touches `policyDir`, the live file `isLive` accepts and
 * copies named after it; otherwise why it must not be carried out.
 */
export function validateJournal(
  journal: Journal,
  policyCount: number,
  policyDir: (index: number) => string,
  isLive: (index: number, path: string) => boolean,
): string | null {
  if (!Number.isInteger(journal.policy) || journal.policy < 0 || journal.policy >= policyCount)
    return `it names policy ${String(journal.policy)}, which the configuration does not have`;
  const dir = policyDir(journal.policy);
  if (typeof journal.file !== 'string' || !isLive(journal.policy, journal.file)) return `its file ${String(journal.file)} is not one the policy rotates`;
  if (!Array.isArray(journal.steps) || !Number.isInteger(journal.done) || journal.done < 0 || journal.done > journal.steps.length)
    return 'its steps are malformed';
  const live = basename(journal.file);
  const copyOfLive = (p: unknown) => typeof p === 'string' && dirname(p) === dir && basename(p).startsWith(live) && basename(p) !== live;
  for (const step of journal.steps) {
    const ok =
      step.op === 'rename'
        ? (step.from === journal.file || copyOfLive(step.from)) && copyOfLive(step.to)
        : step.op === 'copytruncate'
          ? step.from === journal.file && copyOfLive(step.to)
          : step.op === 'create' || step.op === 'record'
            ? step.path === journal.file
            : step.op === 'postrotate';
    if (!ok) return `a step leaves the policy's directory or names another file: ${JSON.stringify(step)}`;
  }
  return null;
}

export function statePath(dataDir: string): string {
  return join(dataDir, 'rotation-state.json');
}

/** Every file the state lives in, for the checks root makes before trusting it. */
export function stateFiles(dataDir: string): string[] {
  const base = statePath(dataDir);
  return [base, `${base}.tmp`, `${base}.prev`, `${base}.lock`];
}

export async function loadRotationState(dataDir: string): Promise<RotationState> {
  const loaded = await readState(statePath(dataDir), codec);
  return loaded?.state ?? { version: ROTATION_STATE_VERSION, lastRotated: {}, journal: null };
}

export async function saveRotationState(dataDir: string, state: RotationState): Promise<void> {
  await writeState(statePath(dataDir), codec, state, 0o600);
}
