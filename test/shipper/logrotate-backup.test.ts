import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allDocs, cleanup, countDocs, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #14, found by the chaos suite: the application re-creates carbon.log between
// logrotate's rename and its create (Python's WatchedFileHandler reopens a missing path
// with O_CREAT). logrotate then finds its destination taken and renames the
// application's file to carbon.log-YYYYMMDDHH.backup, lines and all, and exits 0.
// Those lines must be shipped like any rotated copy's. strace holds each rename of
// carbon.log, which makes that window wide enough to land in every time.

const straceWorks = spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;
const names = uniqueNames('lrbackup');
let dir: string;
let run: ShipperProcess | undefined;
let next = 0;

afterAll(async () => {
  await run?.stop('SIGKILL');
  await cleanup(names, dir ? [dir] : []);
});

function lines(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) text += `INFO:lr:line ${next++}\n`;
  return text;
}

/** Debian's logrotate with the guide's policy, each rename of the live file held `holdMs`. */
function logrotateHeld(conf: string, live: string, holdMs: number): Promise<{ code: number | null; stderr: string }> {
  const args = [
    '-f',
    '-qq',
    '-o',
    '/dev/null',
    '-P',
    live,
    '-e',
    'trace=rename,renameat,renameat2',
    '-e',
    `inject=rename,renameat,renameat2:delay_exit=${holdMs * 1000}`,
    'logrotate',
    '-f',
    '-s',
    join(dir, 'logrotate.state'),
    conf,
  ];
  const child = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe("beside the guide's logrotate", () => {
  it.skipIf(!straceWorks)(
    'lines in the file logrotate sets aside as .backup are shipped, once',
    async () => {
      dir = await tempDir('lrbackup');
      const log = join(dir, 'log');
      const live = join(log, 'carbon.log');
      mkdirSync(log, { mode: 0o755 });
      writeFileSync(live, '');
      const conf = join(dir, 'tta-staging');
      writeFileSync(
        conf,
        `${live} {\n    daily\n    rotate 30\n    compress\n    delaycompress\n    missingok\n    notifempty\n    create 0644 root root\n}\n`,
        { mode: 0o644 },
      );
      const yaml = 'pollIntervalMs: 50\ndiscoveryIntervalMs: 200\nrotatedGraceMs: 300\nbatch:\n  lingerMs: 20';
      const pattern = `${names.indexPrefix}-2*`;
      run = await startCliProcess('run', names, dir, yaml);
      appendFileSync(live, lines(200));
      await waitFor(async () => (await countDocs(pattern)) >= 200, 60_000, 'the first 200 lines');

      // Down while it happens, so nothing but the copy on disk can hold those lines.
      await run.stop('SIGKILL');
      appendFileSync(live, lines(100));
      const rotation = logrotateHeld(conf, live, 500);
      await waitFor(() => !existsSync(live), 10_000, 'logrotate to rename carbon.log', 5);
      const recreated = lines(50);
      appendFileSync(live, recreated);
      const { code, stderr } = await rotation;
      expect(code).toBe(0);
      expect(stderr).toContain('already exists, renaming to');
      const backup = readdirSync(log).find((n) => /^carbon\.log-\d{10}\.backup$/.test(n));
      expect(backup, readdirSync(log).join(' ')).toBeDefined();
      expect(readFileSync(join(log, backup!), 'utf8')).toBe(recreated);
      appendFileSync(live, lines(100));

      run = await startCliProcess('run', names, dir, yaml);
      await waitFor(async () => (await countDocs(pattern)) >= next, 60_000, `all ${next} lines`, 500).catch(async (err) => {
        const have = new Set((await allDocs(pattern)).map((d) => Number(String(d._source.message).split(' ')[1])));
        const missing = Array.from({ length: next }, (_, i) => i).filter((i) => !have.has(i));
        throw new Error(`${(err as Error).message}: ${missing.length} missing, ${missing.slice(0, 3)}..${missing.slice(-3)}\n${run!.output()}`);
      });
      // Nothing more comes (a second reading of a copy would add documents).
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const messages = (await allDocs(pattern)).map((d) => d._source.message as string);
      expect(messages).toHaveLength(next);
      expect(new Set(messages).size).toBe(next);
    },
    120_000,
  );
});
