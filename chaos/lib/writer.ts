import { appendFileSync, closeSync, existsSync, fstatSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CSV_HEADER, planEvent, type PlannedEvent } from './plan.js';

// Writes the planned events as TTA would: carbon.log through a handle that reopens the
// path when rotation renamed it away (Python's WatchedFileHandler; lines written just
// before the reopen land in the rotated file), emissions.csv appended, one report file
// per report event (written to a temp name and renamed, as a finished file appears).

export interface Written {
  events: PlannedEvent[];
  logBytes: number;
}

export class ChaosWriter {
  private fd: number | null = null;
  private ino = -1;
  readonly written: Written = { events: [], logBytes: 0 };

  constructor(
    private readonly seed: number,
    private readonly logFile: string,
    private readonly codecarbonDir: string,
  ) {}

  /** Writes events 0..total-1 at `perSecond`, in small bursts; `stop` ends it early. */
  async run(total: number, perSecond: number, stop: () => boolean): Promise<void> {
    const started = Date.now();
    for (let seq = 0; seq < total && !stop(); ) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * perSecond) + 1);
      let burst = '';
      for (; seq < due; seq++) {
        const e = planEvent(this.seed, seq, new Date());
        this.written.events.push(e);
        if (e.kind === 'log') burst += e.text;
        else {
          this.flushLog(burst);
          burst = '';
          this.other(e);
        }
      }
      this.flushLog(burst);
      await sleep(20);
    }
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private flushLog(text: string): void {
    if (!text) return;
    this.reopenIfRotated();
    writeSync(this.fd!, text);
    this.written.logBytes += Buffer.byteLength(text);
  }

  private reopenIfRotated(): void {
    // One stat, no existence check before it: rotation can rename the file away between
    // the two (seed 850128706 lost its writer to that ENOENT), and then we reopen it.
    const current = statSync(this.logFile, { throwIfNoEntry: false })?.ino ?? -2;
    if (this.fd !== null && current === this.ino) return;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.logFile, 'a');
    this.ino = fstatSync(this.fd).ino;
  }

  private other(e: PlannedEvent): void {
    if (e.kind === 'csv') {
      const csv = join(this.codecarbonDir, 'emissions.csv');
      if (!existsSync(csv)) writeFileSync(csv, CSV_HEADER);
      appendFileSync(csv, e.text);
      return;
    }
    const tmp = join(this.codecarbonDir, `.emissions_${e.seq}.tmp`);
    writeFileSync(tmp, e.text);
    renameSync(tmp, join(this.codecarbonDir, `emissions_${e.seq}.json`));
  }
}
