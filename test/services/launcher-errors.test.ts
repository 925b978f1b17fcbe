import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJdk } from '../../src/services/elasticsearch-server.js';
import { tempDir } from '../helpers/services.js';

// What an operator sees when the launcher cannot start something: what, and how to fix it.

let squatter: Server;
const sockets = new Set<import('node:net').Socket>();
let port: number;

beforeAll(async () => {
  // Something on a loopback port that speaks neither Redis nor HTTP.
  squatter = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.end('not a service\r\n');
  });
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  port = (squatter.address() as { port: number }).port;
});

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  return new Promise<void>((resolve) => squatter.close(() => resolve()));
});

// Asynchronous: the squatter in this process must keep answering while the CLI probes it.
function servicesUp(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/tta-carbon.js', 'services', 'up'], {
    env: { ...process.env, TTA_SERVICES_DIR: join(tmpdir(), 'tta-carbon-launcher-test'), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

describe('services up failures', () => {
  it('a Redis port taken by something else: exit 1, names the port and the fix', async () => {
    const r = await servicesUp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`port ${port} is taken`);
    expect(r.stderr).toContain('how to fix:');
  });

  it('an Elasticsearch port taken by something else: exit 1, names the port and the fix', async () => {
    const r = await servicesUp({ ELASTICSEARCH_URL: `http://127.0.0.1:${port}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`elasticsearch: port ${port} is taken`));
    expect(r.stderr).toContain('ELASTICSEARCH_URL');
  });

  it('a remote Elasticsearch that does not answer is not "started" locally', async () => {
    const r = await servicesUp({ ELASTICSEARCH_URL: 'http://192.0.2.1:1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('only a loopback Elasticsearch can be started here');
  });
});

describe('findJdk', () => {
  it('picks the newest JDK that is new enough', async () => {
    const root = await tempDir('jvm');
    for (const [name, version] of [
      ['jdk17', '17.0.15'],
      ['jdk25', '25.0.3'],
      ['jdk21', '21.0.1'],
    ] as const) {
      await mkdir(join(root, name, 'bin'), { recursive: true });
      await writeFile(join(root, name, 'release'), `JAVA_VERSION="${version}"\n`);
      await writeFile(join(root, name, 'bin', 'java'), '');
    }
    expect(await findJdk(21, root)).toBe(join(root, 'jdk25'));
  });

  it('says which JDKs it saw and how to get a suitable one', async () => {
    const root = await tempDir('jvm');
    await mkdir(join(root, 'jdk17', 'bin'), { recursive: true });
    await writeFile(join(root, 'jdk17', 'release'), 'JAVA_VERSION="17.0.15"\n');
    await writeFile(join(root, 'jdk17', 'bin', 'java'), '');
    await expect(findJdk(21, root)).rejects.toThrow(/needs Java 21\+.*jdk17 \(Java 17\)[\s\S]*how to fix: install a JDK 21\+/);
  });
});
