import { alwaysContinues, TRACEBACK, type MultilineOptions } from '../../common/lines/boundary.js';
import type { Line } from '../../common/lines/line-splitter.js';

export type { MultilineOptions };

// Joins Python tracebacks and indented continuation lines to the event they belong to.
// A line continues the pending event when it is indented, starts a traceback, or
// follows a traceback without looking like the start of a new log record (the final
// "ZeroDivisionError: ..." line of a traceback is not indented). Limits start a new
// event instead of dropping lines: nothing is lost, an oversized traceback is split.

export interface JoinedEvent {
  offset: number;
  end: number;
  text: string;
  truncated: boolean;
  lines: number;
}

export class MultilineJoiner {
  private pending: JoinedEvent | null = null;
  private inTraceback = false;

  constructor(private readonly options: MultilineOptions) {}

  get hasPending(): boolean {
    return this.pending !== null;
  }

  /** The event this line completed, if it completed one (an array per line was garbage the worker's profile showed). */
  push(line: Line): JoinedEvent | null {
    let done: JoinedEvent | null = null;
    if (this.pending && this.continues(line.text) && this.fits(line)) {
      const p = this.pending;
      p.text += `\n${line.text}`;
      p.end = line.end;
      p.lines += 1;
      p.truncated ||= line.truncated;
    } else {
      done = this.pending;
      this.pending = { offset: line.offset, end: line.end, text: line.text, truncated: line.truncated, lines: 1 };
      this.inTraceback = false;
    }
    if (TRACEBACK.test(line.text)) this.inTraceback = true;
    return done;
  }

  flush(): JoinedEvent | null {
    const p = this.pending;
    this.pending = null;
    this.inTraceback = false;
    return p;
  }

  private continues(text: string): boolean {
    if (alwaysContinues(text)) return true;
    return this.inTraceback && !this.options.startPattern.test(text);
  }

  private fits(line: Line): boolean {
    const p = this.pending!;
    return p.lines < this.options.maxLines && p.text.length + line.text.length < this.options.maxBytes;
  }
}
