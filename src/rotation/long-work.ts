import { progress, type Progress } from '../common/logging/progress.js';
import type { Logger } from '../common/logging/logger.js';
import type { Clock } from '../common/time/clock.js';

// Work on at least this many bytes (compressing a copy, archiving reports) shows its
// progress (a terminal's line, or a log line every few seconds): less takes well under
// a second.
const PROGRESS_FROM_BYTES = 16 * 1024 * 1024;

/** A progress display for work on `bytes`, or none when the work is too small to need one. */
export type LongWork = (label: string, bytes: number) => Progress | undefined;

export function longWork(logger: Logger, now: Clock): LongWork {
  return (label, bytes) => (bytes >= PROGRESS_FROM_BYTES ? progress(label, logger, { now }) : undefined);
}
