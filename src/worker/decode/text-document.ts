import type { Sanitizer, Tally } from '../sanitize/sanitizer.js';
import { eventTime, ingestTimeTagged, redactionsJson, type EventContext } from './document.js';
import type { TextEvent } from './normalise.js';

// A text event's document (all of carbon.log but codecarbon's own run records: logging
// lines, their tracebacks, JSON lines), sanitized and written to JSON from its parts.
// Built as an object, walked by the sanitizer and given to JSON.stringify, each cost a
// worker more CPU than anything else it did, and its fields are the same few every
// time. The JSON is the object's (textEventDocument, normalise.ts) byte for byte,
// sanitizer count included: the tests hold the two to that.

/** Every key of a text event's document that the sanitizer reads (the rest are trusted, batch.ts). */
const TEXT_DOCUMENT_KEYS = ['message', 'log', 'level', 'logger', 'file', 'path', 'offset', 'error', 'type', 'stack_trace', 'json'];

// An offset this large is a number the sanitizer checks as a card number.
const LARGEST_PLAIN_OFFSET = 1e12;

const q = JSON.stringify;

// A batch's loggers and levels are a handful of strings on every line: each is cleaned
// and quoted once per writer. The sanitizer's verdict depends on the string alone. The
// bound keeps a file of ever-new logger names from holding a batch's worth of them.
const MAX_REMEMBERED = 1024;

/** A short value as cleaned by the sanitizer: its JSON text and what was redacted from it. */
interface Cleaned {
  text: string;
  json: string;
  redactions: number;
}

// The tags of most text events, which carry no time of their own (logging.BASIC_FORMAT).
const INGEST_TIME_TAGS = `,"tags":${q(ingestTimeTagged(undefined))}`;

export class TextDocumentWriter {
  private readonly fileAndOffset: string;
  private readonly pathRedactions: number;
  private readonly tail: string;
  private readonly remembered = new Map<string, Cleaned>();

  private constructor(
    private readonly ctx: EventContext,
    private readonly sanitizer: Sanitizer,
  ) {
    const path: Tally = { count: 0 };
    this.fileAndOffset = `"file":{"path":${q(sanitizer.cleanValue(ctx.path, path))}},"offset":`;
    this.pathRedactions = path.count;
    this.tail = `,"host":{"name":${q(ctx.hostName)}},"environment":${q(ctx.environment)},"component":"carbon","event":{"dataset":"carbon.log"}`;
  }

  /** A writer for this batch, or null when its sanitizer treats one of our keys as sensitive (then the object is walked). */
  static for(ctx: EventContext, sanitizer: Sanitizer): TextDocumentWriter | null {
    return sanitizer.valuesOnly(TEXT_DOCUMENT_KEYS) ? new TextDocumentWriter(ctx, sanitizer) : null;
  }

  /**
   * The event's document as JSON, its `@timestamp` and its `log.level` as written (the
   * metrics' label), or null for an event this writer does not take.
   */
  write(event: TextEvent): { json: string; at: string; level?: string } | null {
    if (event.offset >= LARGEST_PLAIN_OFFSET) return null;
    const { decoded } = event;
    const tally: Tally = { count: this.pathRedactions };
    let json = `{${event.fields ? this.members(event.fields, tally) : ''}"message":${q(this.clean(decoded.message, tally))},"log":{`;
    const level = decoded.level ? this.cleanShort(decoded.level, tally) : undefined;
    if (level) json += `"level":${level.json},`;
    if (decoded.logger) json += `"logger":${this.cleanShort(decoded.logger, tally).json},`;
    json += `${this.fileAndOffset}${event.offset}}`;
    const error = decoded.error;
    if (error) {
      if (error.stack_trace !== undefined) error.stack_trace = this.clean(error.stack_trace, tally);
      if (error.type !== undefined) error.type = this.clean(error.type, tally);
      if (error.message !== undefined) error.message = this.clean(error.message, tally);
      json += `,"error":${q(error)}`;
    }
    if (event.json) {
      tally.count += this.sanitizer.sanitizeDocument(event.json);
      json += `,"json":${q(event.json)}`;
    }
    // An ISO 8601 time of toISOString needs no escaping.
    const at = eventTime(this.ctx, decoded.timestamp);
    json += `,"@timestamp":"${at}"`;
    if (!decoded.timestamp && !event.tags) json += INGEST_TIME_TAGS;
    else {
      const tags = decoded.timestamp ? event.tags : ingestTimeTagged(event.tags);
      if (tags && tags.length > 0) json += `,"tags":${q(tags)}`;
    }
    return { json: `${json}${this.tail}${redactionsJson(tally.count)}}`, at, level: level?.text };
  }

  /**
   * A JSON line's own keys, sanitized as the walk of the whole document would (by key
   * and value; none of them is one of ours), as JSON members and a comma, or nothing.
   */
  private members(fields: Record<string, unknown>, tally: Tally): string {
    tally.count += this.sanitizer.sanitizeDocument(fields);
    const text = q(fields);
    return text.length > 2 ? `${text.slice(1, -1)},` : '';
  }

  /** A logger or level, cleaned once per writer; its redactions count in every document that carries it. */
  private cleanShort(value: string, tally: Tally): Cleaned {
    let cleaned = this.remembered.get(value);
    if (!cleaned) {
      const own: Tally = { count: 0 };
      const text = this.clean(value, own);
      cleaned = { text, json: q(text), redactions: own.count };
      if (this.remembered.size < MAX_REMEMBERED) this.remembered.set(value, cleaned);
    }
    tally.count += cleaned.redactions;
    return cleaned;
  }

  private clean(text: string, tally: Tally): string {
    return this.sanitizer.cleanValue(text, tally);
  }
}
