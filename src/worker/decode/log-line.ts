import { parseTimestamp } from '../../common/time/zoned.js';

// Decodes one carbon.log event (a line plus any continuation lines) into ECS-style
// fields. Forms, tried in order:
//   {"timestamp": ..., "level": ..., "logger": ..., "message": ..., ...}  JSON object
//   LEVEL:logger:message                                                   logging.BASIC_FORMAT
//   2025-10-08 12:00:00,123 - name - LEVEL - message                       asctime format
//   configured patterns (worker.logPatterns), regexes with the named groups
//   timestamp, level, logger, message; tried before the two built-in text forms
// anything else is kept whole as `message`. A line that looks like JSON but does not
// parse keeps its text and gets error.type json_parse_error (Filebeat's add_error_key). A traceback after the first line becomes
// error.stack_trace, its last line error.type / error.message.

export interface DecodedLog {
  timestamp: Date | null;
  message: string;
  level?: string;
  logger?: string;
  error?: { type?: string; message?: string; stack_trace?: string };
  /** Keys of a JSON line other than the ones mapped above (keys_under_root). */
  fields?: Record<string, unknown>;
}

const BASIC = /^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET):([^:\n]*):(.*)$/s;
const ASCTIME = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:,\d{1,6})?) - (.+?) - (DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET) - (.*)$/s;
const TRACEBACK_START = /\n(Traceback \(most recent call last\):[\s\S]*)$/;
const EXCEPTION_LINE = /^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Iteration)?):\s?(.*)$/;
const FRAME_LINE = /^\s+File "/;

// JSON keys taken as our own fields; everything else goes under root unchanged.
const JSON_TIME_KEYS = ['@timestamp', 'timestamp', 'time', 'asctime'];
const JSON_LEVEL_KEYS = ['level', 'levelname', 'log.level'];
const JSON_LOGGER_KEYS = ['logger', 'name', 'log.logger'];
const JSON_MESSAGE_KEYS = ['message', 'msg'];

export function decodeLogRecord(text: string, timeZone: string, patterns: readonly RegExp[] = []): DecodedLog {
  if (text.startsWith('{')) {
    const json = decodeJson(text, timeZone);
    if (json) return json;
  }
  const { head, stack } = splitTraceback(text);
  for (const pattern of patterns) {
    const g = pattern.exec(head)?.groups;
    if (g) {
      const decoded: DecodedLog = { timestamp: g.timestamp ? parseTimestamp(g.timestamp, timeZone) : null, message: g.message ?? head };
      if (g.level) decoded.level = g.level.toLowerCase();
      if (g.logger) decoded.logger = g.logger;
      return withError(decoded, stack);
    }
  }
  const basic = BASIC.exec(head);
  if (basic) return withError({ timestamp: null, level: basic[1]!.toLowerCase(), logger: basic[2]!, message: basic[3]! }, stack);
  const asc = ASCTIME.exec(head);
  if (asc) {
    return withError({ timestamp: parseTimestamp(asc[1]!, timeZone), logger: asc[2]!, level: asc[3]!.toLowerCase(), message: asc[4]! }, stack);
  }
  return withError({ timestamp: null, message: head }, stack);
}

function splitTraceback(text: string): { head: string; stack?: string } {
  const m = TRACEBACK_START.exec(text);
  if (!m) return { head: text };
  return { head: text.slice(0, m.index), stack: m[1] };
}

function withError(decoded: DecodedLog, stack: string | undefined): DecodedLog {
  if (!stack) return decoded;
  const lines = stack.trimEnd().split('\n');
  // The exception's message runs from its "Type: " line to the end: a message of several
  // lines (`ValueError: rejected f("u",\n  "secret")`) is one message, and its last line
  // alone would be a value without what it belongs to (and without what tells the
  // sanitizer it is a credential). Lines before it are frames; none follows it.
  for (let i = lines.length - 1; i >= 0 && !FRAME_LINE.test(lines[i]!); i--) {
    const exc = /^\s/.test(lines[i]!) ? null : EXCEPTION_LINE.exec(lines[i]!);
    if (exc) {
      decoded.error = { stack_trace: stack, type: exc[1], message: [exc[2]!, ...lines.slice(i + 1)].join('\n') };
      return decoded;
    }
  }
  decoded.error = { stack_trace: stack, message: (lines[lines.length - 1] ?? '').trim() };
  return decoded;
}

function decodeJson(text: string, timeZone: string): DecodedLog | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Only text shaped like one whole object is a failed JSON line; "{braces} in prose" is prose.
    if (!text.trimEnd().endsWith('}')) return null;
    return { timestamp: null, message: text, error: { type: 'json_parse_error', message: (err as Error).message } };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  if (deeperThan(parsed, MAX_JSON_DEPTH)) {
    // Elasticsearch would refuse it (index.mapping.depth.limit), and walking it
    // recursively could exhaust the stack: the line is kept whole as text instead.
    return { timestamp: null, message: text, error: { type: 'json_too_deep', message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels; kept as text` } };
  }
  // The keys taken as ours are skipped, not deleted: deleting from an object makes
  // every later access to it (the sanitizer's walk, JSON.stringify) slower.
  const obj = parsed as Record<string, unknown>;
  const timeKey = firstKey(obj, JSON_TIME_KEYS);
  const levelKey = firstKey(obj, JSON_LEVEL_KEYS);
  const loggerKey = firstKey(obj, JSON_LOGGER_KEYS);
  const messageKey = firstKey(obj, JSON_MESSAGE_KEYS);
  let fields: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (key === timeKey || key === levelKey || key === loggerKey || key === messageKey) continue;
    fields ??= {};
    // A plain assignment of "__proto__" would set the prototype and lose the key.
    if (key === '__proto__') Object.defineProperty(fields, key, { value: obj[key], enumerable: true, writable: true, configurable: true });
    else fields[key] = obj[key];
  }
  const time = timeKey === undefined ? undefined : obj[timeKey];
  const level = levelKey === undefined ? undefined : obj[levelKey];
  const logger = loggerKey === undefined ? undefined : obj[loggerKey];
  const message = messageKey === undefined ? undefined : obj[messageKey];
  const decoded: DecodedLog = {
    timestamp: typeof time === 'string' ? parseTimestamp(time, timeZone) : typeof time === 'number' ? epochToDate(time) : null,
    message: typeof message === 'string' ? message : message === undefined ? '' : JSON.stringify(message),
  };
  if (typeof level === 'string') decoded.level = level.toLowerCase();
  if (typeof logger === 'string') decoded.logger = logger;
  if (fields) decoded.fields = fields;
  return decoded;
}

function firstKey(obj: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) if (Object.hasOwn(obj, k)) return k;
  return undefined;
}

/** Nesting allowed in a JSON line: the index template's index.mapping.depth.limit. */
export const MAX_JSON_DEPTH = 20;

/**
 * Iterative, so a hostile 10,000-deep value cannot overflow the stack here. Only objects
 * and arrays are stacked, with their depths beside them: a pair made for every value of
 * every JSON line was garbage the worker's allocation profile showed.
 */
function deeperThan(value: object, max: number): boolean {
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object' && Object.hasOwn(node, key)) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

// Python's time.time() is seconds; JavaScript's Date.now() is milliseconds.
function epochToDate(n: number): Date | null {
  const ms = n < 1e11 ? n * 1000 : n;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d;
}
