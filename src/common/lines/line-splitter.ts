// Splits a byte stream into complete lines with their byte offsets. Holds at most
// `maxLineBytes` of any one line: the rest of an over-long line is skipped up to its
// newline, and the line is emitted cut with `truncated`, so a runaway line never blocks
// the file or grows memory. CRLF loses its CR; invalid UTF-8 becomes U+FFFD.

export interface Line {
  offset: number;
  /** Offset just past the newline (or past the last byte of a partial line). */
  end: number;
  text: string;
  truncated: boolean;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private kept = 0;
  private cut = false;
  private lineStart: number;
  private pos: number;

  constructor(
    startOffset: number,
    private readonly maxLineBytes: number,
  ) {
    this.lineStart = startOffset;
    this.pos = startOffset;
  }

  /** Offset of the next byte expected. */
  get position(): number {
    return this.pos;
  }

  /** Bytes of the current incomplete line seen so far (kept or skipped). */
  get pendingBytes(): number {
    return this.pos - this.lineStart;
  }

  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
      if (this.parts.length === 0 && !this.cut && nl - from <= this.maxLineBytes) {
        // The whole line is in this chunk: decode it in place, no copy.
        lines.push(this.direct(chunk, from, nl, this.pos + nl + 1));
      } else {
        this.keep(chunk.subarray(from, nl));
        lines.push(this.emit(this.pos + nl + 1));
      }
      from = nl + 1;
    }
    this.keep(chunk.subarray(from));
    this.pos += chunk.length;
    return lines;
  }

  /** The incomplete last line, for a file rotated away or idle past its timeout. */
  takePartial(): Line | null {
    if (this.pendingBytes === 0) return null;
    return this.emit(this.pos);
  }

  private direct(chunk: Buffer, from: number, nl: number, end: number): Line {
    const stop = nl > from && chunk[nl - 1] === 13 ? nl - 1 : nl;
    const line: Line = { offset: this.lineStart, end, text: chunk.toString('utf8', from, stop), truncated: false };
    this.lineStart = end;
    return line;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.maxLineBytes - this.kept;
    if (room <= 0) {
      this.cut = true;
      return;
    }
    // Copy: the caller reuses its read buffer.
    const taken = Buffer.from(bytes.subarray(0, room));
    this.parts.push(taken);
    this.kept += taken.length;
    if (bytes.length > room) this.cut = true;
  }

  private emit(end: number): Line {
    let buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
    if (!this.cut && buf.length > 0 && buf[buf.length - 1] === 13) buf = buf.subarray(0, buf.length - 1);
    const line: Line = { offset: this.lineStart, end, text: buf.toString('utf8'), truncated: this.cut };
    this.parts = [];
    this.kept = 0;
    this.cut = false;
    this.lineStart = end;
    return line;
  }
}
