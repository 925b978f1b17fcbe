import { describe, expect, it } from 'vitest';
import { actionLines, BulkBody, documentJson, requestBody } from '../../../src/worker/bulk/body.js';

describe('BulkBody', () => {
  const docs = ['{"message":"plain"}', '{"message":"ünïcödé ✓ 😀"}', `{"message":"${'x'.repeat(5000)}"}`];

  it('writes NDJSON operations; a document reads back exactly, multi-byte text included', () => {
    const body = new BulkBody(64);
    const action = actionLines();
    const spans = docs.map((d, i) => body.append(action('idx', `id-${i}`), d));
    expect(spans.map(documentJson)).toEqual(docs);
    const ndjson = requestBody(spans).toString('utf8');
    expect(ndjson).toBe(docs.map((d, i) => `{"create":{"_index":"idx","_id":"id-${i}"}}\n${d}\n`).join(''));
    expect(
      ndjson
        .split('\n')
        .slice(0, -1)
        .every((line) => JSON.parse(line)),
    ).toBe(true);
  });

  it('items end to end are a view of the body; a retry of some is their operations copied together', () => {
    const body = new BulkBody();
    const action = actionLines();
    const spans = docs.map((d, i) => body.append(action('idx', `id-${i}`), d));
    const whole = requestBody(spans);
    expect(whole.buffer).toBe(requestBody(spans.slice(1)).buffer);
    const retry = requestBody([spans[0]!, spans[2]!]).toString('utf8');
    expect(retry).toBe(`{"create":{"_index":"idx","_id":"id-0"}}\n${docs[0]}\n{"create":{"_index":"idx","_id":"id-2"}}\n${docs[2]}\n`);
  });

  it('a codecarbon run goes as index with its external version', () => {
    const body = new BulkBody();
    const span = body.append(actionLines()('idx', 'run-1', 7), '{}');
    expect(JSON.parse(requestBody([span]).toString('utf8').split('\n')[0]!)).toEqual({
      index: { _index: 'idx', _id: 'run-1', version: 7, version_type: 'external_gte' },
    });
  });

  it('reset starts the next slice at the beginning', () => {
    const body = new BulkBody(16);
    const action = actionLines();
    body.append(action('a', '1'), docs[2]!);
    body.reset();
    const span = body.append(action('b', '2'), docs[1]!);
    expect(span.from).toBe(0);
    expect(requestBody([span]).toString('utf8')).toBe(`{"create":{"_index":"b","_id":"2"}}\n${docs[1]}\n`);
  });
});
