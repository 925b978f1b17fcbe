import { appendFile, copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CsvRecord, ReportRecord } from '../../src/common/queue/contract.js';
import { cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess, type ShipperProcess } from '../helpers/shipper.js';

// The codecarbon directory through the real shipper process: reports shipped once when
// settled, by content; CSV rows keyed by the file's header, a new header followed.

const names = uniqueNames('cc');
const samples = new URL('../fixtures/samples/codecarbon/', import.meta.url).pathname;
let dir: string;
let cc: string;
let shipper: ShipperProcess;
const consumer = recordingConsumer(names.queue);

const reportsOf = (file: string) => consumer.batches.filter((b) => b.kind === 'report' && b.path.endsWith(file)).flatMap((b) => b.records as ReportRecord[]);
/**
 * A fresh report written after a change, waited for: the watcher decides files in the
 * order they settle (and by name within a round), so once this one has arrived, a
 * shipment of anything changed before it would have arrived too.
 */
let barriers = 0;
async function barrier(): Promise<void> {
  const name = `emissions_20251008_2359${String(barriers++).padStart(2, '0')}.json`;
  const text = await readFile(join(samples, 'emissions_20251008_090000.json'), 'utf8');
  await writeFile(join(cc, name), text.replace('"total_emissions": 0.015077989', `"total_emissions": 0.0150779${barriers}`));
  await waitFor(() => reportsOf(name).length === 4, 15_000, `the barrier report ${name}`);
}
const csvRows = () => consumer.batches.filter((b) => b.kind === 'csv').flatMap((b) => b.records as CsvRecord[]);

beforeAll(async () => {
  dir = await tempDir('cc');
  cc = join(dir, 'log', 'codecarbon');
  await mkdir(cc, { recursive: true });
  await copyFile(join(samples, 'emissions_20251008_090000.json'), join(cc, 'emissions_20251008_090000.json'));
  await copyFile(join(samples, 'emissions.csv'), join(cc, 'emissions.csv'));
  shipper = await startShipperProcess(names, dir, 'pollIntervalMs: 50\nreportSettleMs: 300\ndiscoveryIntervalMs: 200\nbatch:\n  lingerMs: 20\n');
});

afterAll(async () => {
  await shipper.stop();
  await consumer.close();
  await cleanup(names, [dir]);
});

describe('codecarbon inputs', () => {
  it('ships a settled report once: a summary and one record per function', async () => {
    await waitFor(() => reportsOf('emissions_20251008_090000.json').length === 4, 15_000, 'the report');
    const parts = reportsOf('emissions_20251008_090000.json').map((r) => r.report.part);
    expect(parts).toEqual(['summary', 'function', 'function', 'function']);
  });

  it('ships CSV rows with the header as keys, and follows a new header', async () => {
    const sampleRows = (await readFile(join(samples, 'emissions.csv'), 'utf8')).trim().split('\n').length - 1;
    await waitFor(() => csvRows().length === sampleRows, 15_000, 'the CSV rows');
    expect(csvRows()[0]!.row).toMatchObject({ project_name: 'TTA-Staging', run_id: 'run-1' });
    await appendFile(join(cc, 'emissions.csv'), 'timestamp,project_name,run_id,emissions,water_consumed\n2025-10-09T09:00:00,TTA-Staging,run-99,0.5,1.25\n');
    await waitFor(() => csvRows().length === sampleRows + 1, 15_000, 'the row after the new header');
    expect(csvRows().at(-1)!.row).toEqual({
      timestamp: '2025-10-09T09:00:00',
      project_name: 'TTA-Staging',
      run_id: 'run-99',
      emissions: '0.5',
      water_consumed: '1.25',
    });
  });

  it('the same content rewritten (new inode) is not shipped again; different content is', async () => {
    const file = join(cc, 'emissions_20251008_090000.json');
    const text = await readFile(file, 'utf8');
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
    await barrier();
    expect(reportsOf('emissions_20251008_090000.json')).toHaveLength(4);
    await writeFile(file, text.replace('"total_emissions": 0.015077989', '"total_emissions": 0.02'));
    await waitFor(() => reportsOf('emissions_20251008_090000.json').length === 8, 15_000, 'the changed report');
  });

  it('a truncated report arrives once as an error record, and good data around it flows', async () => {
    const text = await readFile(join(samples, 'emissions_20251008_120000.json'), 'utf8');
    await writeFile(join(cc, 'emissions_20251008_130000.json'), text.slice(0, 150));
    await copyFile(join(samples, 'emissions_20251008_120000.json'), join(cc, 'emissions_20251008_120000.json'));
    await waitFor(
      () => reportsOf('emissions_20251008_130000.json').length === 1 && reportsOf('emissions_20251008_120000.json').length > 1,
      15_000,
      'both reports',
    );
    expect(reportsOf('emissions_20251008_130000.json')[0]!.report).toMatchObject({ part: 'invalid', raw: text.slice(0, 150) });
    await barrier();
    expect(reportsOf('emissions_20251008_130000.json')).toHaveLength(1);
  });
});
