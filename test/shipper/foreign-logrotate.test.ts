import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, countDocs, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #14: the guide's /etc/logrotate.d/tta-staging (daily, compress, delaycompress)
// still installed, run by Debian's real logrotate, while tta-carbon is down across
// three rotations: the copy it was reading is gzipped with bytes unshipped, one copy
// is made and gzipped without it ever seeing it, one is left uncompressed. After the
// restart every line is in Elasticsearch exactly once.

const names = uniqueNames('foreignlr');
let dir: string;
let run: ShipperProcess | undefined;
let next = 0;

afterAll(async () => {
  await run?.stop('SIGKILL');
  await cleanup(names, [dir]);
});

function write(count: number): void {
  let text = '';
  for (let i = 0; i < count; i++) text += `INFO:lr:line ${next++}\n`;
  appendFileSync(join(dir, 'log', 'carbon.log'), text);
}

describe("beside the guide's logrotate", () => {
  it('the shipper down across three rotations with compress + delaycompress: every line once', async () => {
    dir = await tempDir('foreignlr');
    mkdirSync(join(dir, 'log'), { mode: 0o755 });
    writeFileSync(join(dir, 'log', 'carbon.log'), '');
    const conf = join(dir, 'tta-staging');
    writeFileSync(
      conf,
      `${join(dir, 'log')}/carbon.log {\n    daily\n    rotate 30\n    compress\n    delaycompress\n    missingok\n    notifempty\n    create 0644 root root\n}\n`,
      { mode: 0o644 },
    );
    const logrotate = () => execFileSync('logrotate', ['-f', '-s', join(dir, 'logrotate.state'), conf]);
    const yaml = 'pollIntervalMs: 50\ndiscoveryIntervalMs: 200\nrotatedGraceMs: 300\nbatch:\n  lingerMs: 20';
    run = await startCliProcess('run', names, dir, yaml);
    const pattern = `${names.indexPrefix}-2*`;
    write(500);
    await waitFor(async () => (await countDocs(pattern)) >= 500, 60_000, 'the first 500 lines');
    await run.stop('SIGKILL');
    write(500); // unshipped rest of the file being read
    logrotate(); // -> carbon.log.1
    write(500);
    logrotate(); // the first copy -> carbon.log.2.gz; the unseen one -> carbon.log.1
    write(500);
    logrotate(); // -> .3.gz, .2.gz (never seen), .1 (never seen)
    write(500);
    expect(readdirSync(join(dir, 'log')).sort()).toEqual(['carbon.log', 'carbon.log.1', 'carbon.log.2.gz', 'carbon.log.3.gz']);
    run = await startCliProcess('run', names, dir, yaml);
    write(100);
    await waitFor(async () => (await countDocs(pattern)) >= next, 60_000, `all ${next} lines`, 500).catch(async (err) => {
      const have = new Set((await allDocs(pattern)).map((d) => Number(String(d._source.message).split(' ')[1])));
      const missing: number[] = [];
      for (let i = 0; i < next; i++) if (!have.has(i)) missing.push(i);
      console.log('missing', missing.length, missing.slice(0, 3), missing.slice(-3));
      console.log(
        run!
          .output()
          .split('\n')
          .filter((l) => /copy|rotated|level":[45]0/.test(l))
          .join('\n'),
      );
      throw err;
    });
    // Nothing more comes (a second reading of a copy would add documents).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const docs = await allDocs(pattern);
    const messages = docs.map((d) => d._source.message as string);
    expect(new Set(messages).size).toBe(next);
    expect(docs).toHaveLength(next);
    expect(run.output()).toContain('a copy compressed by another rotator before it was shipped');
  }, 180_000);
});
