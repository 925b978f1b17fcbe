import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShipperProcess, startCliProcess } from '../helpers/shipper.js';
import { cleanup, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';

// Issue #36: `tta-carbon status` in a real terminal of 80×24 (tmux, read back with
// capture-pane) over a real pipeline: the shipper's file with its offset moving, a
// backlog in the queue while no worker runs, a worker appearing, leaving, reappearing.

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe.skipIf(!hasTmux)('tta-carbon status', () => {
  const names = uniqueNames('status');
  const socket = `tta-${names.queue}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const pane = () => tmux('capture-pane', '-p', '-t', 'status').stdout;
  let dir = '';
  let port = 0;
  const running: ShipperProcess[] = [];
  const line = (i: number) => `2026-12-07 10:00:00,000 - src.components.carbon_component - INFO - status line ${i}\n`;
  const append = (from: number, n: number) => appendFileSync(join(dir, 'log', 'carbon.log'), Array.from({ length: n }, (_x, i) => line(from + i)).join(''));

  beforeAll(async () => {
    dir = await tempDir('status');
    mkdirSync(join(dir, 'log', 'codecarbon'), { recursive: true });
    writeFileSync(join(dir, 'log', 'carbon.log'), '');
    port = await freePort();
  });
  afterAll(async () => {
    tmux('kill-server');
    for (const p of running) await p.stop('SIGKILL');
    await cleanup(names, [dir]);
  });

  it('shows the file with its offset moving, a backlog without workers, and workers coming and going', async () => {
    const env = { TTA_METRICS_PORT: String(port) };
    running.push(await startCliProcess('shipper', names, dir, '', env));
    append(0, 200);
    const config = join(dir, 'status.yaml');
    writeFileSync(config, `redis:\n  queue: ${names.queue}\n`);
    const vars = [
      `TTA_ENV=${names.environment}`,
      `TTA_METRICS_PORT=${port}`,
      `REDIS_URL=${services.redisUrl}`,
      `ELASTICSEARCH_URL=${services.elasticsearchUrl}`,
      'TTA_LOG_FORMAT=json',
    ].join(' ');
    const r = tmux(
      'new-session',
      '-d',
      '-s',
      'status',
      '-x',
      '80',
      '-y',
      '24',
      '-c',
      process.cwd(),
      `env ${vars} ${process.execPath} bin/tta-carbon.js --config ${config} status --interval 0.5`,
    );
    expect(r.status, r.stderr).toBe(0);

    const offsetOf = (text: string) => /carbon\.log +(\d+(?:\.\d)? (?:B|KB|MB))/.exec(text)?.[1];
    const first = await waitFor(() => offsetOf(pane()), 20_000, 'carbon.log with its offset in the view');
    expect(pane()).toContain(`queue ${names.queue}`);
    // The shipper's own warnings, from its /health: reading opens once Redis answers.
    await waitFor(() => /LATEST WARNINGS \(this host\)\n {2}\d\d:\d\d:\d\d WARN \[shipper\] reading resumed/.test(pane()), 20_000, 'the latest warnings');
    append(200, 5000);
    await waitFor(() => offsetOf(pane()) !== first && offsetOf(pane()), 20_000, 'the offset to move');
    // No worker: the batches wait.
    await waitFor(() => Number(/QUEUE {2}waiting (\d+)/.exec(pane())?.[1] ?? 0) > 0, 20_000, 'a backlog in the queue');
    expect(pane()).toContain('WORKERS  0 alive');

    const worker = await startCliProcess('worker', names, dir, '', { TTA_METRICS_PORT: '0' });
    running.push(worker);
    await waitFor(() => pane().includes('WORKERS  1 alive'), 20_000, 'the worker in the view');
    await waitFor(() => pane().includes('QUEUE  waiting 0  active 0'), 30_000, 'the backlog drained');
    await waitFor(() => Number((/INDEXED {2}([\d,]+) documents/.exec(pane())?.[1] ?? '0').replaceAll(',', '')) === 5200, 30_000, 'every line indexed');
    expect(await worker.stop()).toBe(0);
    await waitFor(() => pane().includes('WORKERS  0 alive'), 20_000, 'the worker gone from the view');
    running.push(await startCliProcess('worker', names, dir, '', { TTA_METRICS_PORT: '0' }));
    await waitFor(() => pane().includes('WORKERS  1 alive'), 20_000, 'a worker back in the view');
    // 80 columns: nothing wrapped.
    for (const l of pane().split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);

    tmux('send-keys', '-t', 'status', 'C-c');
    await waitFor(() => tmux('has-session', '-t', 'status').status !== 0, 15_000, 'status to end on Ctrl-C');
  }, 180_000);

  it('--json: one snapshot for scripts', () => {
    const config = join(dir, 'status.yaml');
    const r = spawnSync(process.execPath, ['bin/tta-carbon.js', '--config', config, 'status', '--json'], {
      env: {
        PATH: process.env.PATH!,
        TTA_ENV: names.environment,
        TTA_METRICS_PORT: String(port),
        REDIS_URL: services.redisUrl,
        ELASTICSEARCH_URL: services.elasticsearchUrl,
      },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const snap = JSON.parse(r.stdout) as { queue: { waiting: number }; files: { path: string }[]; workers: unknown[]; indexed: number; warnings: unknown[] };
    expect(snap.files.map((f) => f.path)).toContain(join(dir, 'log', 'carbon.log'));
    expect(snap.queue.waiting).toBe(0);
    expect(snap.indexed).toBe(5200);
    expect(snap.warnings).toContainEqual(expect.objectContaining({ level: 'warn', role: 'shipper', msg: 'reading resumed' }));
  });
});
