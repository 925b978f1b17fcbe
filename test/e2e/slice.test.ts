import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// The first slice, through the real CLI as an operator runs it: a line appended to
// carbon.log is a document in tta-<env>-carbon-YYYY.MM.DD within 5 s.

const names = uniqueNames('slice');
let dir: string;
let pipeline: ShipperProcess;
const output = () => pipeline.output();

beforeAll(async () => {
  dir = await tempDir('slice');
  await mkdir(join(dir, 'log'), { recursive: true });
  pipeline = await startCliProcess('run', names, dir, '');
});

afterAll(async () => {
  await pipeline.stop();
  await cleanup(names, [dir]);
});

describe('one line end to end', () => {
  it('appears in the daily index within 5 s with environment and component', async () => {
    const marker = `hello-${Date.now()}`;
    const logFile = join(dir, 'log', 'carbon.log');
    const now = new Date();
    await appendFile(logFile, `${asctime(now)} - src.components.carbon_component - INFO - ${marker}\n`);
    const written = Date.now();
    const docs = await waitFor(
      async () => {
        const found = await allDocs(`${names.indexPrefix}-*`);
        return found.length > 0 ? found : null;
      },
      5_000,
      'the document to be searchable',
      250,
    );
    const elapsed = Date.now() - written;
    expect(docs).toHaveLength(1);
    const doc = docs[0]!;
    const expectedDay = new Date(doc._source['@timestamp']).toISOString().slice(0, 10).replaceAll('-', '.');
    expect(doc._index).toBe(`${names.indexPrefix}-${expectedDay}`);
    expect(doc._source).toMatchObject({
      message: marker,
      environment: names.environment,
      component: 'carbon',
      log: { level: 'info', logger: 'src.components.carbon_component', offset: 0, file: { path: logFile } },
      event: { dataset: 'carbon.log' },
    });
    // Python's asctime is local wall-clock time with milliseconds: the same instant.
    expect(doc._source['@timestamp']).toBe(now.toISOString());
    expect(elapsed).toBeLessThan(5_000);
  });

  it('serves /metrics with carbon_emissions_kg and counters after known data, and /health', async () => {
    const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(output())?.[1]);
    expect(port).toBeGreaterThan(0);
    const { mkdir: mk, writeFile: wf } = await import('node:fs/promises');
    await mk(join(dir, 'log', 'codecarbon'), { recursive: true });
    const now = new Date();
    const t = (ms: number) => new Date(now.getTime() - ms).toISOString().slice(0, 19);
    await wf(
      join(dir, 'log', 'codecarbon', 'emissions_20990101_000000.json'),
      JSON.stringify(
        {
          project_name: 'TTA-Staging',
          timestamp: t(0),
          total_emissions: 0.0125,
          unit: 'kg CO2eq',
          functions: {
            [`plan_arc_${t(60_000)}`]: { function: 'plan_arc', timestamp: t(60_000), emissions: 0.005, unit: 'kg CO2eq' },
            [`plan_arc_${t(30_000)}`]: { function: 'plan_arc', timestamp: t(30_000), emissions: 0.0075, unit: 'kg CO2eq' },
          },
        },
        null,
        2,
      ),
    );
    // The run itself, as codecarbon writes it: what carbon_emissions_kg counts.
    await wf(
      join(dir, 'log', 'codecarbon', 'emissions.csv'),
      `timestamp,project_name,run_id,duration,emissions\n${t(0)},TTA-Staging,7d3c1f0e-5b1a-4c1e-9a57-0c9d2b1e4f10,90.5,0.0125\n`,
    );
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const text = await waitFor(
      async () => {
        const body = await scrape();
        const done =
          /carbon_emissions_kg\{[^}]*project="TTA-Staging"[^}]*\} 0\.0125/.test(body) && /^tta_carbon_documents_indexed_total\{[^}]*\} 5$/m.test(body);
        return done ? body : null;
      },
      20_000,
      'carbon_emissions_kg and every document in /metrics',
      500,
    );
    expect(text).toMatch(/^up\{[^}]*\} 1$/m);
    expect(text).toMatch(/carbon_function_emissions_kg_total\{[^}]*function="plan_arc"[^}]*\} 0\.0125/);
    // 1 log line + 1 report summary + 2 function events + 1 run.
    expect(Number(/^tta_carbon_documents_indexed_total\{[^}]*\} (\d+)$/m.exec(text)?.[1])).toBe(5);
    // The carbon.log line, and the CSV's header and row.
    expect(Number(/^tta_carbon_lines_read_total\{[^}]*\} (\d+)$/m.exec(text)?.[1])).toBe(3);
    expect(text).toMatch(/tta_carbon_queue_jobs\{[^}]*state="failed"[^}]*\} 0/);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { redis: true } });
  });

  it('stops cleanly on SIGTERM with the registry at the end of the file', async () => {
    const code = await pipeline.stop();
    expect(code).toBe(0);
    expect(output()).toContain('shipper stopped');
    const { readFile } = await import('node:fs/promises');
    const registry = JSON.parse(await readFile(join(dir, 'data', 'registry.json'), 'utf8'));
    const entries = (Object.values(registry.entries) as { offset: number; path: string }[]).filter((e) => e.path.endsWith('carbon.log'));
    expect(entries).toHaveLength(1);
    const { stat } = await import('node:fs/promises');
    expect(entries[0]!.offset).toBe((await stat(join(dir, 'log', 'carbon.log'))).size);
  });
});

function asctime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}
