import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseCsvRecord, normaliseReportRecord } from '../../../src/worker/decode/codecarbon.js';

const ctx = {
  environment: 'staging', hostName: 'h', path: '/cc/emissions_20251008_090000.json',
  ingestedAt: new Date('2025-10-09T00:00:00Z').toISOString(), fallbackTime: new Date('2025-10-09T00:00:00Z'), timeZone: 'Europe/Berlin', projectName: 'Configured-Project',
};

describe('codecarbon reports', () => {
  const report = JSON.parse(readFileSync(new URL('../../fixtures/samples/codecarbon/emissions_20251008_090000.json', import.meta.url), 'utf8'));
  const { functions, ...summary } = report;

  it('a summary event with numbers as numbers and the report time in the configured zone', () => {
    const doc = normaliseReportRecord({ offset: 0, report: { part: 'summary', fields: summary } }, ctx);
    expect(doc['@timestamp']).toBe('2025-10-08T07:00:00.000Z');
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.report' });
    expect(doc.codecarbon).toEqual({ project_name: 'TTA-Staging', total_emissions: 0.015077989, unit: 'kg CO2eq', report_timestamp: '2025-10-08T07:00:00.000Z' });
  });

  it('one event per function measurement, the dynamic key kept as a value only', () => {
    const [key, entry] = Object.entries(functions)[0]!;
    const doc = normaliseReportRecord({ offset: 200, report: { part: 'function', key, project: 'TTA-Staging', entry } }, ctx);
    expect(doc.codecarbon).toEqual({ measurement: key, project_name: 'TTA-Staging', function: 'generate_narrative', emissions: 0.00294943, unit: 'kg CO2eq' });
    expect(doc['@timestamp']).toBe('2025-10-08T06:38:50.000Z');
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.function' });
    expect(JSON.stringify(doc)).not.toContain(`"${key}":`);
  });

  it('a function entry with a non-numeric emission is kept and flagged', () => {
    const doc = normaliseReportRecord({ offset: 5, report: { part: 'function', key: 'f_x', entry: { function: 'f', emissions: 'lots' } } }, ctx);
    // No project in the report: CARBON_PROJECT_NAME stands in.
    expect((doc.codecarbon as { project_name: string }).project_name).toBe('Configured-Project');
    expect(doc.tags).toContain('invalid_measurement');
    expect((doc.error as { type: string }).type).toBe('invalid_measurement');
  });

  it('an invalid report keeps a bounded slice of the raw text and the parse error', () => {
    const doc = normaliseReportRecord({ offset: 0, report: { part: 'invalid', error: 'Unexpected end of JSON input', raw: '{"project_name": "TTA' + 'x'.repeat(10_000) } }, ctx);
    expect((doc.message as string).length).toBe(4096);
    expect(doc.error).toEqual({ type: 'report_parse_error', message: 'Unexpected end of JSON input' });
    expect(doc.tags).toEqual(['invalid_report', 'timestamp_from_ingest']);
  });
});

describe('codecarbon CSV rows', () => {
  const [header, row] = readFileSync(new URL('../../fixtures/samples/codecarbon/emissions.csv', import.meta.url), 'utf8').split('\n');
  const cells = Object.fromEntries(header!.split(',').map((h, i) => [h, row!.split(',')[i]!]));

  it('numbers as numbers, Y/N as booleans, empty cells absent, ids as text', () => {
    const doc = normaliseCsvRecord({ offset: header!.length + 1, row: cells }, ctx);
    const cc = doc.codecarbon as Record<string, unknown>;
    expect(cc.duration).toBe(531.165);
    expect(cc.emissions).toBe(0.003908014566);
    expect(cc.cpu_count).toBe(16);
    expect(cc.on_cloud).toBe(false);
    expect(cc.python_version).toBe('3.12.7');
    expect(cc.run_id).toBe('run-1');
    expect(cc).not.toHaveProperty('cloud_provider');
    expect(cc).not.toHaveProperty('gpu_model');
    expect(doc['@timestamp']).toBe('2025-10-08T07:00:00.000Z');
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.csv' });
  });
});
