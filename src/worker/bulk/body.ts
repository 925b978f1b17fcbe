// A slice's bulk operations as NDJSON bytes, written as each document is made. Held
// as strings until their request returned, the documents outlived young-generation
// collections and were copied by every one of them (garbage collection was a fifth of
// a worker's CPU), then concatenated by the client and copied again into UTF-8 bytes.
// Bytes in a buffer are outside the collector's copying, and a contiguous run of items
// is its request body as it stands.

/** Where one item's operation lies in its body: action line from `from`, document from `doc`, up to `to` (past its newline). */
export interface BodySpan {
  body: BulkBody;
  from: number;
  doc: number;
  to: number;
}

// A slice of a job's megabyte of lines fits, as JSON with action lines, in most cases;
// a body that grew past KEPT_CAPACITY for an unusual slice is not kept for the next.
const FIRST_CAPACITY = 2 << 20;
const KEPT_CAPACITY = 8 << 20;
// UTF-8 needs at most three bytes for each UTF-16 unit of a string.
const MAX_BYTES_PER_UNIT = 3;

export class BulkBody {
  private buf: Buffer;
  private end = 0;

  constructor(capacity = FIRST_CAPACITY) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Empties the body for the next slice: every view and span of the last one is void. */
  reset(): void {
    this.end = 0;
    if (this.buf.length > KEPT_CAPACITY) this.buf = Buffer.allocUnsafe(FIRST_CAPACITY);
  }

  /** Appends an action line and its document, each followed by a newline. */
  append(action: string, json: string): BodySpan {
    this.reserve((action.length + json.length) * MAX_BYTES_PER_UNIT + 2);
    const from = this.end;
    let at = from + this.buf.write(action, from, 'utf8');
    this.buf[at++] = 0x0a;
    const doc = at;
    at += this.buf.write(json, at, 'utf8');
    this.buf[at++] = 0x0a;
    this.end = at;
    return { body: this, from, doc, to: at };
  }

  /** The bytes of [from, to): a view, valid for as long as this body is not reused. */
  bytes(from: number, to: number): Buffer {
    return this.buf.subarray(from, to);
  }

  text(from: number, to: number): string {
    return this.buf.toString('utf8', from, to);
  }

  private reserve(bytes: number): void {
    if (this.end + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.end + bytes));
    this.buf.copy(grown, 0, 0, this.end);
    this.buf = grown;
  }
}

/** The document of an item, as JSON (a dead letter's copy, a test's look). */
export function documentJson(span: BodySpan): string {
  return span.body.text(span.doc, span.to - 1);
}

/**
 * The request body for `items`: a view when they lie end to end in one body (a slice
 * sent whole or cut into requests), else their operations copied together (a retry of
 * the items that failed).
 */
export function requestBody(items: readonly BodySpan[]): Buffer {
  const first = items[0];
  if (!first) return Buffer.alloc(0);
  let contiguous = true;
  for (let i = 1; i < items.length && contiguous; i++) contiguous = items[i]!.body === first.body && items[i]!.from === items[i - 1]!.to;
  if (contiguous) return first.body.bytes(first.from, items[items.length - 1]!.to);
  return Buffer.concat(items.map((s) => s.body.bytes(s.from, s.to)));
}

/**
 * Action lines; the `_index` part is made once per index name. `idJson` is the id as
 * JSON text, when the caller has it made more cheaply than JSON.stringify (StreamIds).
 */
export function actionLines(): (index: string, id: string, version?: number, idJson?: string) => string {
  let last = '';
  let head = '';
  return (index, id, version, idJson) => {
    // A codecarbon run (codecarbon-run.ts): `index` with its external version, so a
    // newer version of the run replaces an older one; everything else is `create`.
    if (version !== undefined) return JSON.stringify({ index: { _index: index, _id: id, version, version_type: 'external_gte' } });
    if (index !== last) {
      last = index;
      head = `{"create":{"_index":${JSON.stringify(index)},"_id":`;
    }
    return `${head}${idJson ?? JSON.stringify(id)}}}`;
  };
}
