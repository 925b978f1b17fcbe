import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The built CLI, as an operator runs it: configuration errors exit 2 and name the key.
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/tta-carbon.js', ...args], {
    env: { PATH: process.env.PATH!, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('configuration errors', () => {
  it('a bad ELASTICSEARCH_URL exits 2 naming the variable', () => {
    const r = cli(['worker'], { ELASTICSEARCH_URL: 'elastic:9200' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ELASTICSEARCH_URL (elasticsearch.url)');
    expect(r.stderr).toContain('"elastic:9200"');
  });

  it('an unknown YAML key exits 2 naming the key and the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tta-cli-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'redis:\n  url: redis://127.0.0.1:6379\n  qeue: typo\n');
    const r = cli(['--config', file, 'shipper']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('redis.qeue: unknown key');
    expect(r.stderr).toContain(file);
  });

  it('a taken metrics port exits 2 naming the address and the key, before anything else starts', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const dir = await mkdtemp(join(tmpdir(), 'tta-cli-'));
    try {
      const r = cli(['shipper'], { TTA_METRICS_PORT: String(port), TTA_DATA_DIR: join(dir, 'data'), TTA_LOG_DIR: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`metrics.port (TTA_METRICS_PORT): 127.0.0.1:${port} is taken by another process; choose another port, or 0 for a free one`);
      expect(r.stdout).not.toContain('shipper started');
    } finally {
      server.close();
    }
  });

  it('--help on each role exits 0 and describes it', () => {
    for (const cmd of ['run', 'shipper', 'worker', 'services']) {
      const r = cli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: tta-carbon ${cmd}`);
    }
  });
});
