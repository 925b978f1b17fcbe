import { describe, expect, it } from 'vitest';
import { IsoFormatter } from '../../../src/common/time/iso.js';
import { decodeLogEvent, textEventDocument, type TextEvent } from '../../../src/worker/decode/normalise.js';
import { TextDocumentWriter } from '../../../src/worker/decode/text-document.js';
import { Sanitizer, type SanitizerOptions } from '../../../src/worker/sanitize/sanitizer.js';
import type { LogRecord } from '../../../src/common/queue/contract.js';
import { noteRedactions, type EventContext } from '../../../src/worker/decode/document.js';

// The writer must give, byte for byte, the JSON of the object a text event's document
// is otherwise built as, sanitized and stringified as batch.ts does with any document.

const TRUSTED = new Set(['@timestamp', 'event', 'host', 'environment', 'component', 'tags']);
const OPTIONS: SanitizerOptions = { enabled: true, extraKeys: [], extraPatterns: ['TTA-[0-9]{6}'], location: 'round', emails: true };

function context(path = '/var/log/tta/staging/carbon.log'): EventContext {
  return {
    environment: 'staging',
    hostName: 'h"1\\',
    path,
    iso: new IsoFormatter(),
    fallbackTime: new Date('2026-01-01T00:00:00Z'),
    timeZone: 'Europe/Paris',
    projectName: 'P',
  };
}

const PATTERN = /^\[(?<level>\w+)\] (?<timestamp>\S+ \S+) (?<logger>\S+): (?<message>.*)$/s;

const RECORDS: LogRecord[] = [
  { offset: 0, text: 'INFO:src.components.carbon_component:generate_narrative emitted 0.000846 kg CO2eq' },
  { offset: 81, text: '2026-03-29 02:30:00,123 - src.components.llm_component - WARNING - slow "quoted" \\ reply\ttab' },
  { offset: 200, text: 'ERROR::Exception with an empty logger' },
  { offset: 300, text: 'plain text with ünïcödé and an emoji 🌍 and a control \u0001 char' },
  { offset: 400, text: 'INFO:a:token ghp_0123456789abcdefghijABCDEFGHIJ0123456789 and TTA-123456 and AKIAIOSFODNN7EXAMPLE' },
  { offset: 500, text: 'INFO:a:connecting to postgres://svc:s3cr3t-pass@db.internal:5432/tta as bob@example.com' },
  {
    offset: 600,
    text:
      'ERROR:src.components.carbon_component:Exception in embed_scene: bad key\nTraceback (most recent call last):\n' +
      '  File "/opt/tta/x.py", line 3, in f\n    raise KeyError("password=hunter2")\nKeyError: Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345',
  },
  { offset: 900, text: 'WARNING:x:cut short', truncated: true },
  { offset: 950, text: 'INFO:x:the last line, still being written', partial: true },
  { offset: 999, text: '2026-01-05 10:00:00,5 - y - INFO - with its own time', truncated: true, partial: true },
  { offset: 1100, text: '{"message": "json line with our keys only", "level": "ERROR", "logger": "j", "timestamp": "2026-01-01T10:00:00Z"}' },
  { offset: 1200, text: '{"message": "not json after all", "level": "INFO", ' + '}' },
  { offset: 1300, text: '[WARN] 2026-02-01 12:00:00 custom.logger: from a configured pattern' },
  { offset: 1400, text: '' },
  {
    offset: 1500,
    text: '{"timestamp":"2026-01-01T10:00:00Z","level":"WARNING","logger":"j","message":"tracked x","duration_ms":12,"token_count":5}',
  },
  {
    offset: 1600,
    text:
      '{"message":"clash","host":"evil","log":{"x":1},"environment":"prod","json":{"a":1},"tags":["t"],"password":"hunter2",' +
      '"nested":{"api_key":"abc","list":["ghp_0123456789abcdefghijABCDEFGHIJ0123456789",{"token":"x"}]},"latitude":48.85661,' +
      '"2":"two","1":"one","__proto__":{"p":1},"card":4111111111111111,"note":"mail bob@example.com"}',
  },
  { offset: 1700, text: '{"msg":{"not":"a string"},"name":"n","levelname":"INFO","empty":{},"nothing":null}' },
];

const JSON_WITH_SECRETS = RECORDS.find((r) => r.offset === 1600)!;

function objectJson(event: TextEvent, ctx: EventContext, sanitizer: Sanitizer): string {
  const doc = textEventDocument(event, ctx);
  noteRedactions(doc, sanitizer.sanitizeDocument(doc, TRUSTED));
  return JSON.stringify(doc);
}

function bothWays(record: LogRecord, options: SanitizerOptions, path?: string): { written: string | undefined; object: string } {
  const sanitizer = new Sanitizer(options);
  const writeCtx = context(path);
  const objectCtx = context(path);
  const forWriter = decodeLogEvent(record, writeCtx, [PATTERN]).text;
  const forObject = decodeLogEvent(record, objectCtx, [PATTERN]).text;
  if (!forWriter || !forObject) throw new Error(`not a text event: ${record.text}`);
  return { written: TextDocumentWriter.for(writeCtx, sanitizer)?.write(forWriter)?.json, object: objectJson(forObject, objectCtx, sanitizer) };
}

describe('TextDocumentWriter', () => {
  it.each(RECORDS.map((r) => [r.text.slice(0, 40), r] as const))('writes the JSON of the sanitized object: %s', (_, record) => {
    const { written, object } = bothWays(record, OPTIONS);
    expect(written).toBe(object);
  });

  it('redacts what the object walk redacts, and counts it the same', () => {
    const { written } = bothWays(RECORDS[6]!, OPTIONS);
    const doc = JSON.parse(written!);
    expect(written).not.toContain('hunter2');
    expect(written).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    expect(doc.sanitizer.redactions).toBeGreaterThanOrEqual(2);
    expect(bothWays(RECORDS[4]!, OPTIONS).written).not.toMatch(/ghp_|TTA-123456|AKIAIOSFODNN7EXAMPLE/);
  });

  it("keeps a JSON line's own keys first and its clashing keys under json, sanitized as the walk does", () => {
    const { written } = bothWays(JSON_WITH_SECRETS, OPTIONS);
    expect(written).not.toMatch(/hunter2|"abc"|ghp_|4111111111111111|bob@example.com/);
    const doc = JSON.parse(written!);
    expect(Object.keys(doc).slice(0, 6)).toEqual(['1', '2', 'password', 'nested', 'latitude', '__proto__']);
    expect(doc.json).toEqual({ host: 'evil', log: { x: 1 }, environment: 'prod', json: { a: 1 }, tags: ['t'] });
    expect(doc.host).toEqual({ name: 'h"1\\' });
    expect(doc.latitude).toBe(48.9);
    expect(doc.sanitizer.redactions).toBeGreaterThanOrEqual(5);
  });

  it('carries no redaction count when nothing was redacted, and no ingest time', () => {
    const { written } = bothWays(RECORDS[0]!, OPTIONS);
    const doc = JSON.parse(written!);
    expect(doc.sanitizer).toBeUndefined();
    expect(doc.event).toEqual({ dataset: 'carbon.log' });
  });

  it('cleans and counts a remembered logger on every line, not only the first', () => {
    const ctx = context();
    const writer = TextDocumentWriter.for(ctx, new Sanitizer(OPTIONS))!;
    const logger = 'svc.AKIAIOSFODNN7EXAMPLE';
    for (const offset of [0, 100, 200]) {
      const record = { offset, text: `WARNING:${logger}:line at ${offset}` };
      const written = writer.write(decodeLogEvent(record, ctx).text!)!;
      expect(written.json).toBe(objectJson(decodeLogEvent(record, context()).text!, context(), new Sanitizer(OPTIONS)));
      expect(written.json).not.toContain('AKIAIOSFODNN7EXAMPLE');
      expect(JSON.parse(written.json).sanitizer.redactions).toBe(1);
      expect(written.level).toBe('warning');
    }
  });

  it('counts a secret in the file path in every document, as the walk does', () => {
    const path = '/var/log/AKIAIOSFODNN7EXAMPLE/carbon.log';
    const { written, object } = bothWays(RECORDS[0]!, OPTIONS, path);
    expect(written).toBe(object);
    expect(JSON.parse(written!).sanitizer.redactions).toBe(1);
  });

  it('writes unsanitized documents the same when the sanitizer is off', () => {
    for (const record of RECORDS) {
      const { written, object } = bothWays(record, { ...OPTIONS, enabled: false });
      expect(written).toBe(object);
    }
  });

  it('leaves a document to the object walk when one of its keys is configured sensitive', () => {
    const ctx = context();
    expect(TextDocumentWriter.for(ctx, new Sanitizer({ ...OPTIONS, extraKeys: ['logger'] }))).toBeNull();
    expect(TextDocumentWriter.for(ctx, new Sanitizer({ ...OPTIONS, extraKeys: ['logger'], enabled: false }))).not.toBeNull();
  });

  it('leaves an offset the sanitizer would read as a card number to the object walk', () => {
    const ctx = context();
    const event = decodeLogEvent({ offset: 4_111_111_111_111, text: 'INFO:a:b' }, ctx).text!;
    expect(TextDocumentWriter.for(ctx, new Sanitizer(OPTIONS))!.write(event)).toBeNull();
  });
});
