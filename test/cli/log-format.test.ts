import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliProcess } from '../helpers/shipper.js';
import { cleanup, services, tempDir, uniqueNames, waitFor } from '../helpers/services.js';

// Issue #36: the processes' own logs are JSON lines for journald, files and shippers,
// and one readable line per event for a person at a terminal. The terminal is a real
// one: tmux's, read back with capture-pane (escape sequences included, for the colour).

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const ESC = String.fromCharCode(27);

describe("the processes' own logs", () => {
  const names = uniqueNames('logfmt');
  let dir = '';

  beforeAll(async () => {
    dir = await tempDir('logfmt');
    mkdirSync(join(dir, 'log', 'codecarbon'), { recursive: true });
    writeFileSync(join(dir, 'log', 'carbon.log'), '');
  });
  afterAll(async () => {
    await cleanup(names, [dir]);
  });

  it('piped: JSON lines, every one of them', async () => {
    const p = await startCliProcess('shipper', names, dir, '');
    expect(await p.stop()).toBe(0);
    const lines = p.output().trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; level: number });
    expect(parsed.map((x) => x.msg)).toContain('shipper started');
  });

  it('piped with TTA_LOG_FORMAT=pretty: readable lines, without colour', async () => {
    const p = await startCliProcess('shipper', names, dir, '', { TTA_LOG_FORMAT: 'pretty' });
    expect(await p.stop()).toBe(0);
    const line = p
      .output()
      .split('\n')
      .find((l) => l.includes('shipper started'));
    expect(line, p.output()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[shipper\] shipper started/);
    expect(p.output()).not.toContain(ESC);
    expect(p.output()).not.toMatch(/^\{/m);
  });

  it('a bad TTA_LOG_FORMAT is a configuration error naming the variable', () => {
    const r = spawnSync(process.execPath, ['bin/tta-carbon.js', 'shipper'], { env: { PATH: process.env.PATH!, TTA_LOG_FORMAT: 'xml' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('TTA_LOG_FORMAT (logFormat)');
  });

  it.skipIf(!hasTmux)(
    'on a terminal: readable and coloured; --log-format json gives JSON there too',
    async () => {
      const socket = `tta-${names.queue}`;
      const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
      const config = join(dir, 'tty.yaml');
      writeFileSync(config, `redis:\n  queue: ${names.queue}\n`);
      const env = [
        `TTA_ENV=${names.environment}`,
        `TTA_LOG_DIR=${join(dir, 'log')}`,
        `TTA_DATA_DIR=${join(dir, 'data')}`,
        `REDIS_URL=${services.redisUrl}`,
        `ELASTICSEARCH_URL=${services.elasticsearchUrl}`,
        'TTA_METRICS_PORT=0',
      ].join(' ');
      const inTerminal = async (flags: string) => {
        const r = tmux(
          'new-session',
          '-d',
          '-s',
          'logs',
          '-x',
          '160',
          '-y',
          '40',
          '-c',
          process.cwd(),
          `env ${env} ${process.execPath} bin/tta-carbon.js --config ${config} ${flags} shipper`,
        );
        expect(r.status, r.stderr).toBe(0);
        const pane = await waitFor(
          () => {
            const out = tmux('capture-pane', '-p', '-e', '-J', '-t', 'logs').stdout;
            return out.includes('shipper started') ? out : '';
          },
          30_000,
          'the shipper to start in the terminal',
        );
        // Ctrl-C, as a person stops it: a clean stop, and the session ends with it.
        tmux('send-keys', '-t', 'logs', 'C-c');
        await waitFor(() => tmux('has-session', '-t', 'logs').status !== 0, 45_000, 'the shipper to stop on Ctrl-C');
        return pane;
      };
      try {
        const readable = await inTerminal('');
        const line = readable.split('\n').find((l) => l.includes('shipper started'))!;
        expect(line).toContain(`${ESC}[32mINFO`);
        expect(line.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[shipper\] shipper started/);
        const json = await inTerminal('--log-format json');
        const started = json.split('\n').find((l) => l.includes('shipper started'))!;
        expect(started.trim().startsWith('{'), started).toBe(true);
        expect(json).not.toContain(`${ESC}[32m`);
      } finally {
        tmux('kill-server');
      }
    },
    120_000,
  );
});
