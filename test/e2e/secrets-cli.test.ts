import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, countDocs, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #16, as the processes run: a secret in a file name reaches /metrics labels
// (file size, unshipped bytes) and the process's own log lines unless the runtime puts
// them through the sanitizer. Real CLI, real Redis and Elasticsearch.

const names = uniqueNames('secretscli');
const token = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
let dir: string;
let run: ShipperProcess | undefined;

afterAll(async () => {
  await run?.stop('SIGKILL');
  await cleanup(names, dir ? [dir] : []);
});

describe('a secret in an input path', () => {
  it('is not in /metrics nor in the process logs, and the file still ships', async () => {
    dir = await tempDir('secretscli');
    mkdirSync(join(dir, 'log'));
    const file = join(dir, 'log', `upload-${token}.log`);
    writeFileSync(file, '');
    run = await startCliProcess(
      'run',
      names,
      dir,
      `inputs:\n  - kind: log\n    paths: [${join(dir, 'log', '*.log')}]\npollIntervalMs: 50\ndiscoveryIntervalMs: 200`,
    );
    appendFileSync(file, 'INFO:a:one\nINFO:a:two\n');
    await waitFor(async () => (await countDocs(`${names.indexPrefix}-2*`)) >= 2, 30_000, 'the two lines');
    const port = Number(/"port":(\d+),"msg":"metrics and health listening"/.exec(run.output())?.[1]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/tta_carbon_file_size_bytes\{[^}]*path="[^"]*\[REDACTED\][^"]*"/);
    expect(metrics).not.toContain(token);
    expect(run.output()).toContain('following file');
    expect(run.output()).not.toContain(token);
  });
});
