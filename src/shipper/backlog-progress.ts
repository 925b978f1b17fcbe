import type { Logger } from '../common/logging/logger.js';
import { progress, type Progress } from '../common/logging/progress.js';
import type { Clock } from '../common/time/clock.js';

// One fstat per followed file: often enough for a terminal's bar to move.
const CHECK_EVERY_MS = 250;
// Unshipped bytes from which catching up is reported as progress.
const REPORT_FROM_BYTES = 64 * 1024 * 1024;

/**
 * A large backlog (the first start on an existing log, or after a long Redis outage)
 * is shown as progress: how much of what was unshipped at its start is shipped now.
 */
export class BacklogProgress {
  private lastCheck = -Infinity;
  private start = 0;
  // Bytes read when the last check found no backlog: a first round reads several
  // batches before the first check sees the files, and those are the backlog's too.
  private readAtQuiet = 0;
  private readonly bar: Progress;

  constructor(private readonly deps: { logger: Logger; now: Clock; stream?: NodeJS.WriteStream }) {
    this.bar = progress('shipping backlog', deps.logger, { now: deps.now, stream: deps.stream });
  }

  /**
   * `unshipped`: bytes on disk not yet in Redis now, over every followed file;
   * `read`: bytes read since the process started.
   */
  async tick(unshipped: () => Promise<number>, bytesRead: () => number): Promise<void> {
    if (this.deps.now() - this.lastCheck < CHECK_EVERY_MS) return;
    this.lastCheck = this.deps.now();
    const left = await unshipped();
    const read = bytesRead();
    if (this.start === 0) {
      if (left < REPORT_FROM_BYTES) {
        this.readAtQuiet = read;
        return;
      }
      this.start = left + Math.max(0, read - this.readAtQuiet);
    }
    // Written faster than shipped (or a new file found): the backlog grew, so its total does.
    this.start = Math.max(this.start, left);
    this.bar.update(Math.max(0, this.start - left), this.start);
    if (left < REPORT_FROM_BYTES / 4) {
      this.bar.finish();
      this.deps.logger.info({ bytes: this.start }, 'backlog shipped');
      this.start = 0;
      this.readAtQuiet = read;
    }
  }
}
