import { IsoFormatter } from '../../../src/common/time/iso.js';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord } from '../../../src/worker/decode/log-line.js';
import { normaliseLogRecord } from '../../../src/worker/decode/normalise.js';

describe('decodeLogRecord', () => {
  it('reads logging.BASIC_FORMAT lines', () => {
    expect(decodeLogRecord('INFO:src.components.carbon_component:fn emitted 0.000123 kg CO2eq', 'UTC')).toEqual({
      timestamp: null,
      level: 'info',
      logger: 'src.components.carbon_component',
      message: 'fn emitted 0.000123 kg CO2eq',
    });
  });

  it('reads asctime lines in the configured zone', () => {
    const d = decodeLogRecord('2025-10-08 12:00:00,123 - src.orchestration.component - WARNING - slow: 3 s', 'Europe/Berlin');
    expect(d).toMatchObject({ level: 'warning', logger: 'src.orchestration.component', message: 'slow: 3 s' });
    expect(d.timestamp?.toISOString()).toBe('2025-10-08T10:00:00.123Z');
    expect(decodeLogRecord('2025-01-08 12:00:00,000 - a - INFO - m', 'Europe/Berlin').timestamp?.toISOString()).toBe('2025-01-08T11:00:00.000Z');
  });

  it('puts a traceback into error.* and keeps the first line as the message', () => {
    const d = decodeLogRecord(
      'ERROR:codecarbon:Exception in plan_arc: division by zero\nTraceback (most recent call last):\n  File "x.py", line 1, in f\n    1/0\nZeroDivisionError: division by zero',
      'UTC',
    );
    expect(d.message).toBe('Exception in plan_arc: division by zero');
    expect(d.error).toMatchObject({ type: 'ZeroDivisionError', message: 'division by zero' });
    expect(d.error?.stack_trace?.startsWith('Traceback (most recent call last):')).toBe(true);
  });

  it("takes an exception's message of several lines whole, not its last line", () => {
    const d = decodeLogRecord(
      'ERROR:x:login failed\nTraceback (most recent call last):\n  File "x.py", line 1, in f\n    login(u, p)\nValueError: rejected login("tta",\n  "hunter2")',
      'UTC',
    );
    expect(d.error).toMatchObject({ type: 'ValueError', message: 'rejected login("tta",\n  "hunter2")' });
  });

  it('takes a JSON line: known keys mapped, the rest at the top level', () => {
    const d = decodeLogRecord('{"timestamp": "2025-10-08T09:00:00", "level": "warning", "logger": "x", "message": "m", "duration_ms": 4604}', 'UTC');
    expect(d).toEqual({ timestamp: new Date('2025-10-08T09:00:00Z'), level: 'warning', logger: 'x', message: 'm', fields: { duration_ms: 4604 } });
  });

  it('reads a configured pattern before the built-in forms', () => {
    const pattern = /^\[(?<timestamp>[^\]]+)\] (?<level>\w+) (?<logger>[\w.]+): (?<message>.*)$/s;
    expect(decodeLogRecord('[2025-10-08T09:00:00Z] ERROR tta.carbon: boom', 'UTC', [pattern])).toEqual({
      timestamp: new Date('2025-10-08T09:00:00Z'),
      level: 'error',
      logger: 'tta.carbon',
      message: 'boom',
    });
  });

  it('keeps a broken JSON line whole with the parse error', () => {
    const d = decodeLogRecord('{"level": "info", "message": "cut', 'UTC');
    expect(d.message).toBe('{"level": "info", "message": "cut');
    expect(d.error).toBeUndefined();
    const e = decodeLogRecord('{"level": "info", message: bad}', 'UTC');
    expect(e.message).toBe('{"level": "info", message: bad}');
    expect(e.error?.type).toBe('json_parse_error');
    expect(e.error?.message).toMatch(/JSON/);
  });

  it('keeps anything else whole as the message', () => {
    expect(decodeLogRecord('{not json', 'UTC')).toEqual({ timestamp: null, message: '{not json' });
    expect(decodeLogRecord('plain text: here', 'UTC')).toEqual({ timestamp: null, message: 'plain text: here' });
  });
});

describe('normaliseLogRecord', () => {
  const ctx = {
    environment: 'staging',
    hostName: 'h1',
    path: '/var/log/tta/staging/carbon.log',
    iso: new IsoFormatter(),
    fallbackTime: new Date('2026-01-01T00:00:00Z'),
    timeZone: 'UTC',
    projectName: 'P',
  };

  it('adds our fields and flags the ingest-time fallback', () => {
    const doc = normaliseLogRecord({ offset: 42, text: 'INFO:a:b', truncated: true }, ctx);
    expect(doc).toEqual({
      '@timestamp': '2026-01-01T00:00:00.000Z',
      message: 'b',
      log: { level: 'info', logger: 'a', file: { path: ctx.path }, offset: 42 },
      tags: ['truncated', 'timestamp_from_ingest'],
      host: { name: 'h1' },
      environment: 'staging',
      component: 'carbon',
      event: { dataset: 'carbon.log' },
    });
  });

  it('moves JSON keys that clash with ours under json.*', () => {
    const doc = normaliseLogRecord({ offset: 0, text: '{"message":"m","environment":"prod","host":"evil","x":1}' }, ctx);
    expect(doc.environment).toBe('staging');
    expect(doc.host).toEqual({ name: 'h1' });
    expect(doc.json).toEqual({ environment: 'prod', host: 'evil' });
    expect(doc.x).toBe(1);
  });

  it('takes the time key of highest priority; the other and a "__proto__" key stay fields', () => {
    const doc = normaliseLogRecord(
      { offset: 0, text: '{"time":"2026-01-03T00:00:00Z","timestamp":"2026-01-04T00:00:00Z","msg":"m","__proto__":{"a":1}}' },
      ctx,
    );
    expect(doc['@timestamp']).toBe('2026-01-04T00:00:00.000Z');
    expect(doc.message).toBe('m');
    expect(doc.time).toBe('2026-01-03T00:00:00Z');
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    // biome-ignore lint/suspicious/noProto: the test is that a key named __proto__ survives as data
    expect(JSON.parse(JSON.stringify(doc)).__proto__).toEqual({ a: 1 });
  });
});

describe('hostile JSON lines', () => {
  it('JSON nested 10,000 deep is kept as text with error.type json_too_deep', () => {
    const text = `{"message":"deep","d":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const d = decodeLogRecord(text, 'UTC');
    expect(d.message).toBe(text);
    expect(d.error?.type).toBe('json_too_deep');
    expect(d.fields).toBeUndefined();
  });

  it('20 levels are still fields', () => {
    const d = decodeLogRecord(`{"message":"ok","d":${'{"a":'.repeat(18)}1${'}'.repeat(18)}}`, 'UTC');
    expect(d.error).toBeUndefined();
    expect(d.fields).toHaveProperty('d');
  });
});
