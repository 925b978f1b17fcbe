import { systemClock, type Clock } from '../time/clock.js';
import type { Logger } from './logger.js';

// Progress of long work (a first ingest of a large backlog, retention over many
// indices): a self-overwriting line on a terminal, a log line every `everyMs` otherwise.

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  everyMs?: number;
  now?: Clock;
}

export function progress(
  label: string,
  logger: Logger,
  { stream = process.stderr, everyMs = 10_000, now: clock = systemClock }: ProgressOptions = {},
): Progress {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = clock();
      if (now - last < (tty ? 200 : everyMs)) return;
      last = now;
      const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
      if (tty) {
        stream.write(`\r${label}: ${pct.toFixed(1)} % (${human(done)} of ${human(total)})   `);
        shown = true;
      } else {
        logger.info({ done, total, percent: Number(pct.toFixed(1)) }, label);
      }
    },
    finish() {
      if (tty && shown) stream.write('\n');
      shown = false;
    },
  };
}

function human(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}
