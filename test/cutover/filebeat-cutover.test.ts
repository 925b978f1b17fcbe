import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { allMessages } from '../helpers/fleet.js';
import { cleanup, esClient, tempDir, uniqueNames, waitFor } from '../helpers/services.js';
import { startCliProcess, type ShipperProcess } from '../helpers/shipper.js';

// Issue #35, the day of the switch: the real Filebeat ships part of one file and all of
// another, is stopped, its registry is imported, tta-carbon starts: every line of
// every file is in exactly one place, Filebeat's output or tta-carbon's index, and a
// file Filebeat never saw is shipped whole. Filebeat writes to its file output (the
// registry it keeps is the one it keeps for Elasticsearch: offsets its output
// acknowledged). Its binary is the one ../shared/peers/ holds, built from source.

const PEERS = [process.env.TTA_PEERS_DIR, resolve('../shared/peers'), '/work/shared/peers'].filter(
  (d): d is string => !!d && existsSync(join(d, 'filebeat.xz')),
);
const skipWhy = PEERS.length === 0 ? 'no Filebeat binary (../shared/peers/filebeat.xz, or TTA_PEERS_DIR)' : null;

let teardown: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of teardown.reverse()) await fn().catch(() => undefined);
  teardown = [];
});

function filebeatBinary(dir: string): string {
  const bin = join(dir, 'filebeat');
  const r = spawnSync('sh', ['-c', `xz -dc '${join(PEERS[0]!, 'filebeat.xz')}' > '${bin}'`]);
  if (r.status !== 0) throw new Error(`cannot unpack filebeat: ${r.stderr}`);
  chmodSync(bin, 0o755);
  return bin;
}

function startFilebeat(bin: string, dir: string, paths: string[]): { child: ChildProcess; data: string; out: string; stop: () => Promise<void> } {
  const data = join(dir, 'filebeat-data');
  const out = join(dir, 'filebeat-out');
  const config = join(dir, 'filebeat.yml');
  writeFileSync(
    config,
    `filebeat.inputs:\n  - type: filestream\n    id: carbon\n    paths: [${paths.join(', ')}]\npath.data: ${data}\nlogging.level: warning\nlogging.to_stderr: true\noutput.file:\n  path: ${out}\n  filename: events\n`,
    { mode: 0o600 },
  );
  const child = spawn(bin, ['-c', config, '-e', '--strict.perms=false'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return { child, data, out, stop };
}

/** The messages Filebeat's file output holds. */
function filebeatMessages(out: string): string[] {
  if (!existsSync(out)) return [];
  const files = spawnSync('sh', ['-c', `cat '${out}'/events*.ndjson 2>/dev/null`], { encoding: 'utf8' }).stdout;
  return files
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { message: string }).message);
}

const lines = (name: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `INFO:cutover:${name} line ${from + i}\n`).join('');

describe('switching from Filebeat', () => {
  it.skipIf(skipWhy !== null)(
    "resumes each file at Filebeat's offset: every line once, in Filebeat's output or ours",
    async () => {
      const names = uniqueNames('cutover');
      const dir = await tempDir('cutover');
      teardown.push(() => cleanup(names, [dir]));
      const log = join(dir, 'log');
      mkdirSync(log);
      const [partial, finished, unseen] = ['partial.log', 'finished.log', 'unseen.log'].map((n) => join(log, n)) as [string, string, string];
      appendFileSync(partial, lines('partial', 0, 300));
      appendFileSync(finished, lines('finished', 0, 500));

      const filebeat = startFilebeat(filebeatBinary(dir), dir, [partial, finished]);
      teardown.push(filebeat.stop);
      await waitFor(() => filebeatMessages(filebeat.out).length === 800, 60_000, 'Filebeat to ship both files', 250);
      const refused = await runCli(['import', 'filebeat', '--dry-run', '--registry', filebeat.data], { TTA_DATA_DIR: join(dir, 'data') });
      expect(refused.code, refused.out).toBe(1);
      expect(refused.out).toMatch(/Filebeat is running \(pid \d+/);
      await filebeat.stop();

      // The switch: more lines for the file Filebeat was reading, and a file it never saw.
      appendFileSync(partial, lines('partial', 300, 700));
      appendFileSync(unseen, lines('unseen', 0, 200));
      const imported = await runCli(['import', 'filebeat', '--registry', filebeat.data], { TTA_DATA_DIR: join(dir, 'data') });
      expect(imported.code, imported.out).toBe(0);
      expect(imported.out).toContain(`resumes ${partial} at byte ${readFileSync(partial).indexOf('INFO:cutover:partial line 300')}`);
      expect(imported.out).toContain(`resumes ${finished} at byte ${readFileSync(finished).length}`);

      const yaml = `pollIntervalMs: 50\ninputs:\n  - kind: log\n    paths: ['${log}/*.log']\n`;
      const run: ShipperProcess = await startCliProcess('run', names, dir, yaml);
      teardown.push(() => run.stop());
      const es = esClient();
      teardown.push(() => es.close());
      const ours = async () => (await allMessages(es, `${names.indexPrefix}-2*`).catch(() => [] as string[])).map((m) => `INFO:cutover:${m}`);
      await waitFor(async () => (await ours()).length >= 600, 60_000, 'tta-carbon to ship what Filebeat had not', 500);
      // Nothing more comes: the registry has reached the end of every file.
      await waitFor(
        async () => {
          const reg = JSON.parse(readFileSync(join(dir, 'data', 'registry.json'), 'utf8')) as { entries: Record<string, { path: string; offset: number }> };
          const at = (p: string) =>
            Math.max(
              ...Object.values(reg.entries)
                .filter((e) => e.path === p)
                .map((e) => e.offset),
            );
          return [partial, finished, unseen].every((p) => at(p) === readFileSync(p).length);
        },
        30_000,
        'every file shipped to its end',
      );
      const theirs = filebeatMessages(filebeat.out);
      const all = [...theirs, ...(await ours())];
      const written = [partial, finished, unseen].flatMap((p) => readFileSync(p, 'utf8').trimEnd().split('\n'));
      const counts = new Map<string, number>();
      for (const m of all) counts.set(m, (counts.get(m) ?? 0) + 1);
      expect(
        written.filter((l) => !counts.has(l)),
        'missing',
      ).toEqual([]);
      expect(
        [...counts].filter(([, n]) => n > 1).map(([l]) => l),
        'twice',
      ).toEqual([]);
      expect(all.length).toBe(written.length);
      expect(theirs.length).toBe(800);
    },
    180_000,
  );
});
