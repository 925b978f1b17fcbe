import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Keys whose values never reach our own logs, wherever a caller puts them.
const REDACT_PATHS = [
  'password', '*.password', 'apiKey', '*.apiKey', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'token', '*.token',
];

export interface LoggerOptions {
  level: string;
  name?: string;
  destination?: DestinationStream;
}

/** JSON lines to stdout (or `destination`), level from config, credentials censored. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name ?? 'tta-carbon',
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
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
