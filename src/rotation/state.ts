import { join } from 'node:path';
import { readState, writeState, type StateCodec } from '../common/fs/atomic-file.js';

// logrotate's status file, versioned and written atomically (0600): when each file was
// last rotated, and the journal of a rotation in progress, so a crash resumes the
// remaining steps instead of repeating or skipping them.

export const ROTATION_STATE_VERSION = 1;

export type Step =
  | { op: 'rename'; from: string; to: string }
  /** Create the live file; `copy:<file>><target>` is copytruncate's copy + truncate. */
  | { op: 'create'; path: string }
  | { op: 'postrotate'; command: string }
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
    return { version: s.version, lastRotated: s.lastRotated ?? {}, journal: s.journal ?? null };
  },
};

export function statePath(dataDir: string): string {
  return join(dataDir, 'rotation-state.json');
}

export async function loadRotationState(dataDir: string): Promise<RotationState> {
  const loaded = await readState(statePath(dataDir), codec);
  return loaded?.state ?? { version: ROTATION_STATE_VERSION, lastRotated: {}, journal: null };
}

export async function saveRotationState(dataDir: string, state: RotationState): Promise<void> {
  await writeState(statePath(dataDir), codec, state, 0o600);
}
