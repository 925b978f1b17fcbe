import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { recordingConsumer, startShipperProcess, type ShipperProcess } from '../helpers/shipper.js';

// Inputs that cannot be read, next to good ones: the shipper says why, keeps running,
// and the good data around them arrives. (Tests run as root, which reads any file, so
// a directory where a file is expected stands in for an unreadable input.)

const names = uniqueNames('badinputs');
const consumer = recordingConsumer(names.queue);
let dir: string;
let shipper: ShipperProcess;

afterAll(async () => {
  await shipper?.stop();
  await consumer.close();
  await cleanup(names, [dir]);
});

describe('unreadable inputs', () => {
  it('a directory matching the log glob and one matching the report glob do not stop good files', async () => {
    dir = await tempDir('badinputs');
    const log = join(dir, 'log');
    mkdirSync(join(log, 'codecarbon'), { recursive: true });
    mkdirSync(join(log, 'broken.log'));
    mkdirSync(join(log, 'codecarbon', 'emissions_bad.json'));
    writeFileSync(join(log, 'good.log'), 'INFO:good:one\n');
    writeFileSync(
      join(log, 'codecarbon', 'emissions_good.json'),
      JSON.stringify({ project_name: 'P', timestamp: '2026-01-01T00:00:00', total_emissions: 1, unit: 'kg CO2eq', functions: {} }),
    );
    const inputs = `inputs:\n  - kind: log\n    paths: [${log}/*.log]\n  - kind: report\n    paths: [${log}/codecarbon/emissions_*.json]\nreportSettleMs: 200\npollIntervalMs: 50\ndiscoveryIntervalMs: 200\nbatch:\n  lingerMs: 20\n`;
    shipper = await startShipperProcess(names, dir, inputs);
    await waitFor(() => consumer.logTexts().includes('INFO:good:one'), 15_000, 'the good log line');
    appendFileSync(join(log, 'good.log'), 'INFO:good:two\n');
    await waitFor(() => consumer.logTexts().includes('INFO:good:two'), 15_000, 'the next good line');
    await waitFor(() => consumer.batches.some((b) => b.kind === 'report' && b.path.endsWith('emissions_good.json')), 15_000, 'the good report');
    // More rounds of polling, each seen to end by a line arriving: the refusals are not repeated.
    for (const n of ['three', 'four', 'five']) {
      appendFileSync(join(log, 'good.log'), `INFO:good:${n}\n`);
      await waitFor(() => consumer.logTexts().includes(`INFO:good:${n}`), 15_000, `the line ${n}`);
    }
    expect(shipper.child.exitCode).toBeNull();
    // Refused once each, not once per poll, saying what is there.
    expect(
      shipper.output().match(/broken\.log","what":"a directory","msg":"input refused: not a regular file; skipped, the other inputs go on"/g),
    ).toHaveLength(1);
    expect(shipper.output().match(/emissions_bad\.json","what":"a directory","msg":"input refused/g)).toHaveLength(1);
  });
});
