import { IsoFormatter } from '../../../src/common/time/iso.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normaliseCsvRecord, normaliseReportRecord } from '../../../src/worker/decode/codecarbon.js';
import { runRequestOf, runVersion } from '../../../src/worker/decode/codecarbon-run.js';
import { normaliseLogRecord } from '../../../src/worker/decode/normalise.js';

const ctx = {
  environment: 'staging',
  hostName: 'h',
  path: '/cc/emissions_20251008_090000.json',
  iso: new IsoFormatter(),
  fallbackTime: new Date('2025-10-09T00:00:00Z'),
  timeZone: 'Europe/Berlin',
  projectName: 'Configured-Project',
};

describe('codecarbon reports', () => {
  const report = JSON.parse(readFileSync(new URL('../../fixtures/samples/codecarbon/emissions_20251008_090000.json', import.meta.url), 'utf8'));
  const { functions, ...summary } = report;

  it('a summary event with numbers as numbers and the report time in the configured zone', () => {
    const doc = normaliseReportRecord({ offset: 0, report: { part: 'summary', fields: summary } }, ctx);
    expect(doc['@timestamp']).toBe('2025-10-08T07:00:00.000Z');
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.report' });
    expect(doc.codecarbon).toEqual({
      project_name: 'TTA-Staging',
      total_emissions: 0.015077989,
      unit: 'kg CO2eq',
      report_timestamp: '2025-10-08T07:00:00.000Z',
    });
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
    const doc = normaliseReportRecord(
      { offset: 0, report: { part: 'invalid', error: 'Unexpected end of JSON input', raw: `{"project_name": "TTA${'x'.repeat(10_000)}` } },
      ctx,
    );
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
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.run' });
    expect(cc.source).toBe('csv');
  });
});

describe('codecarbon runs from every source (real codecarbon 3.3.2 output)', () => {
  const real = (name: string) => readFileSync(new URL(`../../fixtures/samples/codecarbon-real/${name}`, import.meta.url), 'utf8');
  const loggerLine = real('carbon-with-codecarbon-logger.log')
    .split('\n')
    .find((l) => l.includes('"run_id": "8ca83349'))!;
  const boamps = JSON.parse(real('boamps_report_8ca83349-6efb-4b71-8709-69677824c4f2.json'));
  const csvRow = (text: string, n: number) => {
    const [header, ...rows] = text.trim().split('\n');
    return Object.fromEntries(header!.split(',').map((h, i) => [h, rows[n]!.split(',')[i]!]));
  };

  it('a LoggerOutput line is the run, under codecarbon.*, typed, with the id and version its CSV row would have', () => {
    const fields = JSON.parse(loggerLine);
    const doc = normaliseLogRecord({ offset: 10, text: loggerLine }, ctx);
    const cc = doc.codecarbon as Record<string, unknown>;
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.run' });
    expect(cc).toMatchObject({ source: 'log', run_id: fields.run_id, emissions: fields.emissions, pue: 1.2, wue: 1.8, on_cloud: false, cpu_count: 2 });
    expect(doc).not.toHaveProperty('pue');
    expect(cc).not.toHaveProperty('region');
    expect(doc['@timestamp']).toBe('2026-12-01T19:20:29.000Z');
    // The same record as a CSV row (what codecarbon writes there) is the same request.
    const row = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === null ? '' : String(v)]));
    const fromCsv = normaliseCsvRecord({ offset: 99, row }, ctx);
    expect(runRequestOf(fromCsv)).toEqual(runRequestOf(doc));
    expect(fromCsv.codecarbon).toEqual({ ...cc, source: 'csv' });
  });

  it('a BoAmps report is the run too, below any full record of it', () => {
    const doc = normaliseReportRecord({ offset: 0, report: { part: 'summary', fields: boamps } }, ctx);
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.run' });
    expect(doc.codecarbon).toMatchObject({
      run_id: '8ca83349-6efb-4b71-8709-69677824c4f2',
      source: 'boamps',
      energy_consumed: 2.800901639360212e-5,
      duration: 3.0186570999999276,
    });
    expect(doc.codecarbon).not.toHaveProperty('emissions');
    const full = runRequestOf(normaliseLogRecord({ offset: 10, text: loggerLine }, ctx))!;
    const partial = runRequestOf(doc)!;
    expect(partial.id).toBe(full.id);
    expect(partial.version).toBeLessThan(full.version);
  });

  it('a row with another cell count than its header is kept and flagged, never a run', () => {
    const doc = normaliseCsvRecord({ offset: 7, row: { timestamp: '0', run_id: '1.0', emissions: '2' }, cells: { row: 3, header: 38 } }, ctx);
    expect(doc.event).toMatchObject({ dataset: 'codecarbon.csv' });
    expect(doc.tags).toContain('malformed_row');
    expect(doc.error).toEqual({ type: 'csv_cell_count', message: '3 cells where the header has 38' });
    expect(runRequestOf(doc)).toBeUndefined();
  });

  it('a later flush of a run is a newer version; 2.x and 3.x rows parse alike', () => {
    const v3 = csvRow(real('emissions-codecarbon-3.3.2.csv'), 0);
    const later = { ...v3, duration: String(Number(v3.duration) + 0.000001) };
    expect(runRequestOf(normaliseCsvRecord({ offset: 1, row: later }, ctx))!.version).toBeGreaterThan(
      runRequestOf(normaliseCsvRecord({ offset: 1, row: v3 }, ctx))!.version,
    );
    expect(runVersion('csv', 0)).toBeGreaterThan(runVersion('boamps', 5));
    const v2 = normaliseCsvRecord({ offset: 1, row: csvRow(real('emissions-codecarbon-2.8.4.csv'), 0) }, ctx).codecarbon as Record<string, unknown>;
    expect(v2).toMatchObject({ codecarbon_version: '2.8.4', pue: 1, gpu_energy: 0, on_cloud: false });
    expect(v2).not.toHaveProperty('wue');
  });
});
