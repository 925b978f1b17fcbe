// Where a carbon.log event begins: the one rule both halves of shipping raw chunks use.
// The shipper's chunker (shipper/lines/chunker.ts) cuts chunks only where an event
// begins whatever came before; the worker's joiner (worker/decode/multiline.ts) joins
// lines into events. If they disagreed, a chunk could end inside an event and the
// event's id would change with the read size.

export interface MultilineOptions {
  startPattern: RegExp;
  maxLines: number;
  maxBytes: number;
}

// A line that starts a new carbon.log record: JSON, `LEVEL:logger:` or an asctime stamp.
export const DEFAULT_START_PATTERN = '^(?:[{\\[]|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET):|\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2})';

export const TRACEBACK = /^Traceback \(most recent call last\):/;

/** Indented, or a traceback's first line: part of the event before it, whatever that was. */
export function alwaysContinues(text: string): boolean {
  const first = text.charCodeAt(0);
  return first === 0x20 || first === 0x09 || TRACEBACK.test(text);
}

/**
 * A line that begins an event whatever came before it: not a continuation, and it
 * matches the start pattern (a line that does not continues a traceback it follows).
 */
export function alwaysStarts(text: string, startPattern: RegExp): boolean {
  return !alwaysContinues(text) && startPattern.test(text);
}
