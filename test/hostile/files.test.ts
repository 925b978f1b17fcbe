import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, countDocs, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Hostile files and directories under a running pipeline (`tta-carbon run` as its own
// process, as the unprivileged user `nobody`, so file permissions mean what they mean
// in production), with good numbered lines flowing through every case: an unreadable
// file, invalid reports, a file deleted while read, the registry's disk full, the log
// directory removed and recreated. Nothing may crash; each case is logged and counted.

const NOBODY = { uid: 65534, gid: 65534 };
const names = uniqueNames('hostilefiles');
let dir: string;
let log: string;
let data: string;
let mounted = false;
let pipeline: ShipperProcess;
let goodSent = 0;

function good(count: number): void {
  let text = '';
  for (let i = 0; i < count; i++) text += `INFO:good:line ${goodSent++}\n`;
  appendFileSync(join(log, 'carbon.log'), text);
}

const byLogger = (logger: string) => countDocs(`${names.indexPrefix}-2*`, { term: { 'log.logger': logger } });

/** Every good line so far indexed, once (ids are per line, so a count is exact). */
async function goodArrived(): Promise<void> {
  const want = goodSent;
  await waitFor(async () => (await byLogger('good')) >= want, 60_000, `${want} good lines`, 500);
  expect(await byLogger('good')).toBe(want);
}

async function problems(): Promise<Record<string, number>> {
  const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(pipeline.output())![1]);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^tta_carbon_input_problems_total\{kind="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Appends zeros to the registry's small file system until it has no page left. */
function fill(): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(data, 'filler')}`, 'bs=4k', 'count=1000', 'oflag=append', 'conv=notrunc'], {
      stdio: 'ignore',
    });
  } catch {
    // dd stops at ENOSPC: the file system is full, as wanted.
  }
}

function newDir(path: string): void {
  mkdirSync(path, { recursive: true });
  chmodSync(path, 0o777);
}

beforeAll(async () => {
  dir = await tempDir('hostilefiles');
  chmodSync(dir, 0o755);
  log = join(dir, 'log');
  data = join(dir, 'data');
  newDir(join(log, 'codecarbon'));
  newDir(data);
  try {
    // A small file system of its own for the registry, to fill up for real.
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=256k,uid=${NOBODY.uid},gid=${NOBODY.gid},mode=0755`, 'tmpfs', data]);
    mounted = true;
  } catch {
    chownSync(data, NOBODY.uid, NOBODY.gid);
  }
  writeFileSync(join(log, 'carbon.log'), '');
  writeFileSync(join(log, 'secret.log'), 'INFO:secret:nobody may read this\n');
  chmodSync(join(log, 'secret.log'), 0o000);
  const yaml = `inputs:\n  - kind: log\n    paths: [${log}/*.log]\n  - kind: report\n    paths: [${log}/codecarbon/emissions_*.json]\npollIntervalMs: 50\ndiscoveryIntervalMs: 200\nreportSettleMs: 300\nrotatedGraceMs: 500\nbatch:\n  lingerMs: 20`;
  pipeline = await startCliProcess('run', names, dir, yaml, {}, NOBODY);
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  if (mounted) execFileSync('umount', [data]);
  await cleanup(names, [dir]);
});

describe('hostile files under a running pipeline', () => {
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      console.log(
        pipeline
          .output()
          .split('\n')
          .filter((l) => /"level":[456]0/.test(l))
          .slice(-20)
          .join('\n'),
      );
  });

  it('a file without read permission: logged with EACCES, counted, the others flow', async () => {
    good(100);
    await goodArrived();
    expect(pipeline.output()).toMatch(/"code":"EACCES","path":"[^"]*secret\.log","msg":"cannot read file; other files go on, this one is retried"/);
    expect((await problems()).unreadable).toBeGreaterThan(0);
  });

  it('a truncated, an empty and an array report: one error record each, counted; a good report after them', async () => {
    const cc = join(log, 'codecarbon');
    writeFileSync(join(cc, 'emissions_truncated.json'), '{"project_name": "P", "functions": {"a": {"emis');
    writeFileSync(join(cc, 'emissions_empty.json'), '');
    writeFileSync(join(cc, 'emissions_array.json'), '[1, 2, 3]');
    writeFileSync(
      join(cc, 'emissions_good.json'),
      JSON.stringify({ project_name: 'hostile', timestamp: new Date().toISOString(), total_emissions: 0.5, unit: 'kg', functions: {} }),
    );
    good(100);
    await goodArrived();
    const reports = await waitFor(
      async () => {
        const docs = (await allDocs(`${names.indexPrefix}-2*`)).filter((d) => d._source.event?.dataset === 'codecarbon.report');
        return docs.length >= 4 ? docs : null;
      },
      30_000,
      'four report documents',
    );
    expect(reports.filter((d) => d._source.tags?.includes('invalid_report'))).toHaveLength(3);
    expect(reports.find((d) => d._source.codecarbon?.project_name === 'hostile')?._source.codecarbon.total_emissions).toBe(0.5);
    expect((await problems()).invalid_report).toBe(3);
  });

  it('a report without read permission: logged once with EACCES however many rounds it stays, counted; the other reports flow', async () => {
    const cc = join(log, 'codecarbon');
    const secret = join(cc, 'emissions_secret.json');
    writeFileSync(secret, JSON.stringify({ project_name: 'secret', timestamp: new Date().toISOString(), total_emissions: 1, unit: 'kg', functions: {} }));
    chmodSync(secret, 0o000);
    const before = (await problems()).unreadable ?? 0;
    writeFileSync(
      join(cc, 'emissions_after.json'),
      JSON.stringify({ project_name: 'after-secret', timestamp: new Date().toISOString(), total_emissions: 0.25, unit: 'kg', functions: {} }),
    );
    await waitFor(
      async () => (await allDocs(`${names.indexPrefix}-2*`)).some((d) => d._source.codecarbon?.project_name === 'after-secret'),
      30_000,
      'the report after the unreadable one',
    );
    // Tried again every round (pollIntervalMs 50), said once a minute.
    await waitFor(async () => (await problems()).unreadable! >= before + 10, 10_000, 'ten rounds with the report unreadable');
    const said = pipeline
      .output()
      .match(/"code":"EACCES","path":"[^"]*emissions_secret\.json","msg":"cannot read file; other files go on, this one is retried"/g);
    expect(said).toHaveLength(1);
    expect(pipeline.output()).not.toContain('cannot ship report');
    rmSync(secret);
  });

  it('a file deleted while it is being read: read to its end from the open handle, nothing else stops', async () => {
    const big = join(log, 'big.log');
    let text = '';
    for (let i = 0; i < 60_000; i++) text += `INFO:big:big ${i} ${'x'.repeat(60)}\n`;
    writeFileSync(big, text);
    await waitFor(() => /big\.log","fileId[^\n]*"msg":"following file"/.test(pipeline.output()), 15_000, 'big.log to be opened');
    rmSync(big);
    good(100);
    await goodArrived();
    await waitFor(async () => (await byLogger('big')) >= 60_000, 90_000, 'all 60,000 lines of the deleted file', 1000);
    expect(await byLogger('big')).toBe(60_000);
    expect(pipeline.child.exitCode).toBeNull();
  }, 150_000);

  it('the registry disk full: logged and counted, shipping goes on, saved again once there is room', async () => {
    if (!mounted) {
      // No tmpfs here (no mount permission): a directory where the registry's temp
      // file goes makes the same write fail.
      mkdirSync(join(data, 'registry.json.tmp'));
    } else {
      fill();
    }
    good(200);
    await goodArrived();
    await waitFor(
      () => {
        // A save in flight while the disk filled frees a page when it drops the old
        // `.prev`, and the next save's temp file takes it: each refill takes it first.
        if (mounted) fill();
        return /"msg":"cannot save the registry; shipping goes on, offsets kept in memory"/.test(pipeline.output());
      },
      15_000,
      'the registry error',
    );
    if (mounted) expect(pipeline.output()).toMatch(/"code":"ENOSPC"[^\n]*cannot save the registry/);
    expect((await problems()).registry_write).toBeGreaterThan(0);
    rmSync(mounted ? join(data, 'filler') : join(data, 'registry.json.tmp'), { recursive: true });
    await waitFor(() => pipeline.output().includes('"msg":"registry saved again"'), 15_000, 'the registry to be saved again');
  });

  it('the log directory removed and recreated: new lines in the new directory arrive', async () => {
    rmSync(log, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 1000));
    newDir(log);
    writeFileSync(join(log, 'carbon.log'), '');
    good(100);
    await goodArrived();
    expect(pipeline.child.exitCode).toBeNull();
  });
});
