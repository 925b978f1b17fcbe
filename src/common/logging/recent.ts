// The latest warnings and errors this process logged, kept for /health (and so for
// `tta-carbon status`): an operator at the status view sees what went wrong last
// without reading the journal. Only what was logged, after the logger cleaned it.

const KEEP = 10;

export interface RecentEntry {
  /** ISO time it was logged. */
  time: string;
  level: 'warn' | 'error' | 'fatal';
  role?: string;
  msg: string;
}

export class RecentWarnings {
  private readonly entries: RecentEntry[] = [];

  constructor(private readonly now: () => number) {}

  /** A log call at pino level `level` (40 warn, 50 error, 60 fatal) with its cleaned arguments. */
  note(level: number, args: unknown[], role: string | undefined): void {
    if (level < 40) return;
    const msg = args.find((a): a is string => typeof a === 'string') ?? errorMessage(args[0]);
    this.entries.push({ time: new Date(this.now()).toISOString(), level: level >= 60 ? 'fatal' : level >= 50 ? 'error' : 'warn', ...(role && { role }), msg });
    if (this.entries.length > KEEP) this.entries.shift();
  }

  /** Oldest first. */
  list(): RecentEntry[] {
    return [...this.entries];
  }
}

/** `logger.error(err)`: the error's message, as pino would show it (cleaned, it is a plain object). */
function errorMessage(first: unknown): string {
  if (first instanceof Error) return first.message;
  const message = (first as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}
