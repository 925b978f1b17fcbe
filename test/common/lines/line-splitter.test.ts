import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/common/lines/line-splitter.js';

describe('LineSplitter', () => {
  it('emits complete lines with offsets and keeps the partial tail', () => {
    const s = new LineSplitter(100, 1024);
    expect(s.push(Buffer.from('ab\ncd'))).toEqual([{ offset: 100, end: 103, text: 'ab', truncated: false }]);
    expect(s.pendingBytes).toBe(2);
    expect(s.push(Buffer.from('e\n\nf'))).toEqual([
      { offset: 103, end: 107, text: 'cde', truncated: false },
      { offset: 107, end: 108, text: '', truncated: false },
    ]);
    expect(s.takePartial()).toEqual({ offset: 108, end: 109, text: 'f', truncated: false });
    expect(s.takePartial()).toBeNull();
  });

  it('drops the CR of CRLF and replaces invalid UTF-8', () => {
    const s = new LineSplitter(0, 1024);
    const lines = s.push(Buffer.concat([Buffer.from('a\r\n'), Buffer.from([0xff, 0xfe, 0x41, 0x0a])]));
    expect(lines.map((l) => l.text)).toEqual(['a', '\uFFFD\uFFFDA']);
    expect(lines[1]!.end).toBe(7);
  });

  it('cuts an over-long line at the limit, flags it, and carries on with the next', () => {
    const s = new LineSplitter(0, 10);
    const big = 'x'.repeat(25);
    const lines = [...s.push(Buffer.from(big.slice(0, 7))), ...s.push(Buffer.from(`${big.slice(7)}\nok\n`))];
    expect(lines).toEqual([
      { offset: 0, end: 26, text: 'x'.repeat(10), truncated: true },
      { offset: 26, end: 29, text: 'ok', truncated: false },
    ]);
  });

  it('does not split a multi-byte character across chunks', () => {
    const s = new LineSplitter(0, 1024);
    const bytes = Buffer.from('é€\n');
    expect([...s.push(bytes.subarray(0, 1)), ...s.push(bytes.subarray(1, 4)), ...s.push(bytes.subarray(4))].map((l) => l.text)).toEqual(['é€']);
  });
});
