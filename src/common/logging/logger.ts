import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { RecentWarnings } from './recent.js';

export type { Logger };

// Keys whose values never reach our own logs, wherever a caller puts them.
const REDACT_PATHS = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
];

export interface LoggerOptions {
  level: string;
  name?: string;
  /** JSON lines (the default), or one readable line per event (a terminal's). */
  format?: 'pretty' | 'json';
  destination?: DestinationStream;
  /**
   * The sanitizer's string cleaner: applied to the message and to the string fields of
   * what is logged (error messages echo inputs, Elasticsearch echoes field values).
   */
  clean?: (text: string) => string;
  /** Where warnings and errors are kept as well, for /health. */
  recent?: RecentWarnings;
}

/** The arguments of a log call with every string in them (a level or two deep) cleaned. */
function cleanArgs(args: unknown[], clean: (text: string) => string): unknown[] {
  const value = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return clean(v);
    if (v instanceof Error) return { type: v.name, message: clean(v.message), stack: v.stack && clean(v.stack) };
    if (depth > 0 && Array.isArray(v)) return v.map((x) => value(x, depth - 1));
    if (depth > 0 && v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, value(x, depth - 1)]));
    return v;
  };
  return args.map((a) => value(a, 3));
}

/** JSON lines to stdout (or `destination`), level from config, credentials censored. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name ?? 'tta-carbon',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...((options.clean || options.recent) && {
        hooks: {
          logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void, level: number) {
            const cleaned = options.clean ? cleanArgs(args, options.clean) : args;
            options.recent?.note(level, cleaned, this.bindings().role as string | undefined);
            method.apply(this, cleaned);
          },
        },
      }),
    },
    options.destination ?? (options.format === 'pretty' ? readable(process.stdout.isTTY === true) : pino.destination({ dest: 1, sync: false })),
  );
}

/**
 * One line per event for a person: time, level (coloured on a terminal), who logged it,
 * the message and its fields. Synchronous, in this thread: a person reads a few lines a
 * second, and a log line written before a crash is not lost in a worker's buffer.
 */
function readable(colour: boolean): DestinationStream {
  return pretty({
    destination: 1,
    sync: true,
    colorize: colour,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The role in front (a host's agent logs for its shipper and its scheduler); the
    // process name and pid say nothing a person at its terminal does not know.
    messageFormat: '{if role}[{role}] {end}{msg}',
    ignore: 'pid,hostname,name,role',
  });
}

/** The format `setting` names for a process whose stdout `isTTY` (auto: readable on a terminal). */
export function logFormat(setting: 'auto' | 'pretty' | 'json', isTTY: boolean): 'pretty' | 'json' {
  return setting === 'auto' ? (isTTY ? 'pretty' : 'json') : setting;
}

/** A URL fit for a log line: user and password replaced. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? 'redacted' : '';
      u.password = u.password ? 'redacted' : '';
    }
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
