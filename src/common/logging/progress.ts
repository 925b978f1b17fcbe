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
  { stream = process.stderr, everyMs = 5_000, now: clock = systemClock }: ProgressOptions = {},
): Progress {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let shown = false;
  // The rate is over the whole run so far: from the first update, what it had done then.
  let first: { at: number; done: number } | undefined;
  return {
    update(done, total) {
      const now = clock();
      first ??= { at: now, done };
      if (now - last < (tty ? 200 : everyMs)) return;
      last = now;
      const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
      const seconds = (now - first.at) / 1000;
      const rate = seconds > 0 ? (done - first.done) / seconds : undefined;
      const eta = rate && rate > 0 ? Math.max(0, (total - done) / rate) : undefined;
      if (tty) {
        const speed = rate === undefined ? '' : `, ${human(rate)}/s${eta === undefined ? '' : `, ETA ${duration(eta)}`}`;
        stream.write(`\r${label}: ${pct.toFixed(1)} % (${human(done)} of ${human(total)}${speed})   `);
        shown = true;
      } else {
        logger.info(
          {
            done,
            total,
            percent: Number(pct.toFixed(1)),
            ...(rate !== undefined && { perSecond: Math.round(rate) }),
            ...(eta !== undefined && { etaSeconds: Math.round(eta) }),
          },
          label,
        );
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

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
