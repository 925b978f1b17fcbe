import { readFileSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReportRecord } from '../../src/common/queue/contract.js';
import { CsvRows, parseCsvLine } from '../../src/shipper/lines/csv.js';
import { MAX_RAW_SLICE, readReport } from '../../src/shipper/reports/report-reader.js';
import { tempDir } from '../helpers/services.js';

async function parse(text: string): Promise<ReportRecord[]> {
  const dir = await tempDir('report');
  const file = join(dir, 'emissions_20251008_090000.json');
  await writeFile(file, text);
  const out: ReportRecord[] = [];
  const handle = await open(file, 'r');
  try {
    await readReport(handle, async (r) => void out.push(r));
  } finally {
    await handle.close();
  }
  return out;
}

const sample = readFileSync(new URL('../fixtures/samples/codecarbon/emissions_20251008_090000.json', import.meta.url), 'utf8');

describe('report parsing', () => {
  it('a pretty-printed report: one summary without functions, one record per entry', async () => {
    const records = await parse(sample);
    expect(records).toHaveLength(4);
    expect(records[0]!.report).toEqual({
      part: 'summary',
      fields: { project_name: 'TTA-Staging', timestamp: '2025-10-08T09:00:00', total_emissions: 0.015077989, unit: 'kg CO2eq' },
    });
    expect(records.slice(1).map((r) => r.offset)).toEqual([1, 2, 3]);
    expect(records[1]!.report).toMatchObject({
      part: 'function',
      key: 'generate_narrative_2025-10-08T08:38:50',
      project: 'TTA-Staging',
      entry: { function: 'generate_narrative', emissions: 0.00294943 },
    });
  });

  it('a large report streams every entry', async () => {
    const functions: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++)
      functions[`f${i}_2025-10-08T00:00:00`] = { function: `f${i}`, timestamp: '2025-10-08T00:00:00', emissions: i / 1e6, unit: 'kg CO2eq' };
    const records = await parse(
      JSON.stringify({ project_name: 'P', timestamp: '2025-10-08T00:00:00', total_emissions: 1, unit: 'kg CO2eq', functions }, null, 2),
    );
    expect(records).toHaveLength(20_001);
    expect((records[20_000]!.report as { key: string }).key).toBe('f19999_2025-10-08T00:00:00');
  });

  it('truncated JSON, not JSON, an array and an empty file become one invalid record each', async () => {
    for (const [text, error] of [
      [sample.slice(0, 200), /./],
      ['not json at all', /./],
      ['[{"project_name": "x"}]', /is an array/],
      ['', /empty/],
    ] as const) {
      const records = await parse(text);
      expect(records).toHaveLength(1);
      expect(records[0]!.report.part).toBe('invalid');
      expect((records[0]!.report as { error: string }).error).toMatch(error);
      expect((records[0]!.report as { raw: string }).raw).toBe(text.slice(0, MAX_RAW_SLICE));
    }
  });
});

describe('CSV rows', () => {
  const line = (text: string, offset = 0) => ({ offset, end: offset + text.length + 1, text, truncated: false });

  it('parses quoted cells', () => {
    expect(parseCsvLine('a,"b, c","say ""hi""",')).toEqual(['a', 'b, c', 'say "hi"', '']);
  });

  it('takes columns from the header and follows a new header', () => {
    const rows = new CsvRows();
    expect(rows.push(line('timestamp,project_name,emissions'))).toBeNull();
    expect(rows.push(line('2025-10-08T09:00:00,TTA,0.1', 40))).toEqual({
      offset: 40,
      row: { timestamp: '2025-10-08T09:00:00', project_name: 'TTA', emissions: '0.1' },
    });
    expect(rows.push(line('timestamp,project_name,emissions,water_consumed'))).toBeNull();
    expect(rows.push(line('2025-10-09T09:00:00,TTA,0.2,1.5', 90))!.row).toEqual({
      timestamp: '2025-10-09T09:00:00',
      project_name: 'TTA',
      emissions: '0.2',
      water_consumed: '1.5',
    });
  });

  it('a resumed file is primed with its header', () => {
    const rows = new CsvRows();
    rows.prime('timestamp,emissions');
    expect(rows.push(line('2025-10-08T09:00:00,0.1', 30))!.row).toEqual({ timestamp: '2025-10-08T09:00:00', emissions: '0.1' });
  });
});
