import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttacker, isRoot, layout, type Attacker, type Layout } from '../helpers/attacker.js';
import { runCli } from '../helpers/cli.js';
import { allDocs, cleanup, countDocs, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #13, shipping: `tta-carbon run` as root over a log directory tta-user owns, in
// which that user planted symlinks to a root-only file (as carbon.log, a report and
// emissions.csv), a FIFO and a symlink to /dev/zero. No byte of the root-only file may
// reach Elasticsearch; each plant is reported once and skipped; the good inputs beside
// them keep shipping; SIGTERM ends the process well within its deadline.

const names = uniqueNames('rootship');
let attacker: Attacker;
let l: Layout;
let pipeline: ShipperProcess;
let goodSent = 0;

function good(count: number): void {
  let text = '';
  for (let i = 0; i < count; i++) text += `INFO:good:line ${goodSent++}\n`;
  appendFileSync(join(l.log, 'good.log'), text);
}

const refusals = (path: string) =>
  pipeline
    .output()
    .split('\n')
    .filter((line) => line.includes('input refused') && line.includes(`"path":"${path}"`)).length;

beforeAll(async () => {
  if (!isRoot) return;
  attacker = createAttacker();
  l = await layout(attacker, 'rootship');
  attacker.sh(
    [
      `ln -s ${l.victim} carbon.log`,
      'mkfifo fifo.log',
      'ln -s /dev/zero zero.log',
      `ln -s ${l.victim} codecarbon/emissions_20251008_090000.json`,
      `ln -s ${l.victim} codecarbon/emissions.csv`,
      ': > good.log',
    ].join(' && '),
    l.log,
  );
  // Recent: an event older than retention would go to the dead-letter index instead.
  const at = new Date().toISOString().slice(0, 19);
  const report = {
    project_name: 'TTA-Staging',
    timestamp: at,
    total_emissions: 0.001,
    unit: 'kg CO2eq',
    functions: { [`fn_${at}`]: { function: 'fn', timestamp: at, emissions: 0.001, unit: 'kg CO2eq' } },
  };
  writeFileSync(join(l.codecarbon, 'emissions_20251008_120000.json'), JSON.stringify(report, null, 2));
  const yaml = `inputs:\n  - kind: log\n    paths: [${l.log}/*.log]\n  - kind: csv\n    paths: [${l.codecarbon}/emissions.csv]\n  - kind: report\n    paths: [${l.codecarbon}/emissions_*.json]\npollIntervalMs: 50\ndiscoveryIntervalMs: 200\nreportSettleMs: 300\nbatch:\n  lingerMs: 20`;
  pipeline = await startCliProcess('run', names, l.base, yaml, { TTA_LOG_DIR: l.log, TTA_DATA_DIR: l.data, CARBON_OUTPUT_DIR: l.codecarbon });
}, 60_000);

afterAll(async () => {
  if (process.env.DEBUG_SEC)
    console.log(
      pipeline
        ?.output()
        .split('\n')
        .filter((x) => /report|refused|"level":[56]0/.test(x))
        .slice(-20)
        .join('\n'),
    );
  await pipeline?.stop('SIGKILL');
  if (l) await cleanup(names, [l.base]);
  attacker?.remove();
});

describe.skipIf(!isRoot)('shipping as root over a directory tta-user owns', () => {
  it('ships the good inputs beside the plants, and no byte of the root-only file', async () => {
    good(200);
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`, { term: { 'log.logger': 'good' } })) >= 200, 60_000, '200 good lines');
    await waitFor(
      async () => (await countDocs(`${names.indexPrefix}-2*`, { term: { 'event.dataset': 'codecarbon.function' } })) >= 1,
      30_000,
      'the good report',
    );
    good(100);
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`, { term: { 'log.logger': 'good' } })) >= 300, 60_000, '300 good lines');
    const docs = await allDocs(`${names.indexPrefix}*`);
    const secret = l.victimBytes.toString().split(':')[1]!;
    expect(docs.filter((d) => JSON.stringify(d._source).includes(secret))).toEqual([]);
    expect(docs.filter((d) => d._source.log?.logger === 'good')).toHaveLength(300);
    expect(l.victimIntact()).toBe(true);
  }, 120_000);

  it('reports each plant once, by path and kind, in the log and on /metrics', async () => {
    for (const [name, what] of [
      ['carbon.log', 'a symbolic link'],
      ['fifo.log', 'a FIFO'],
      ['zero.log', 'a symbolic link'],
    ] as const) {
      expect(refusals(join(l.log, name)), name).toBe(1);
      expect(pipeline.output()).toContain(`"path":"${join(l.log, name)}","what":"${what}`);
    }
    expect(refusals(join(l.codecarbon, 'emissions.csv'))).toBe(1);
    expect(refusals(join(l.codecarbon, 'emissions_20251008_090000.json'))).toBe(1);
    const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(pipeline.output())![1]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`tta_carbon_input_refused{path="${join(l.log, 'fifo.log')}"`);
    expect(metrics).toMatch(/tta_carbon_input_problems_total\{kind="refused"[^}]*\} 5/);
    // /dev/zero once looked like a file truncated over and over, each time a registry entry.
    const registry = JSON.parse(readFileSync(join(l.data, 'registry.json'), 'utf8'));
    expect(Object.keys(registry.entries).length).toBeLessThanOrEqual(3);
  });

  it('tta-carbon health names the plants (degraded)', async () => {
    const r = await runCli(['health', '--json'], { TTA_LOG_DIR: l.log, TTA_DATA_DIR: l.data, CARBON_OUTPUT_DIR: l.codecarbon, TTA_ENV: names.environment });
    const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'Input files');
    expect(check.status).toBe('degraded');
    expect(check.detail).toContain(`${join(l.log, 'carbon.log')} is a symbolic link`);
  });

  it('SIGTERM ends it within its deadline with the FIFO still there', async () => {
    const started = Date.now();
    const code = await pipeline.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
