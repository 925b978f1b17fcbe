import { pidAlive } from '../common/os/pid.js';
import { ServiceStartError } from './errors.js';
import { spawn, type SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing its output; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], options: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: stderr + err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function which(cmd: string): Promise<string | null> {
  const r = await run('sh', ['-c', `command -v ${cmd}`]);
  return r.code === 0 ? r.stdout.trim() : null;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Is anything accepting TCP connections on host:port? */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export { pidAlive };

export async function readPid(file: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(200);
  if (pidAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    while (pidAlive(pid)) await sleep(100);
  }
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  return check();
}

/** The pid in `file` when that process still runs, else null. */
export async function livePid(file: string): Promise<number | null> {
  const pid = await readPid(file);
  return pid && pidAlive(pid) ? pid : null;
}

/** Stops the process named by a pid file; false when it was not running. */
export async function stopPidFile(file: string, graceMs: number): Promise<boolean> {
  const pid = await livePid(file);
  if (!pid) return false;
  await stopPid(pid, graceMs);
  return true;
}

/** A TCP port on loopback nothing listens on right now (for nodes and servers tests start). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The port a local service may be started on: `url` names this host, and nothing holds
 * its port. Otherwise says what to do, naming the environment variable that set it.
 */
export async function startablePort(service: string, url: string, defaultPort: number, envVar: string): Promise<number> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  const name = service === 'redis' ? 'Redis' : 'Elasticsearch';
  if (!LOOPBACK.has(u.hostname)) {
    throw new ServiceStartError(
      service,
      `nothing answers at ${u.host}, and only a loopback ${name} can be started here`,
      `start that ${service === 'redis' ? 'Redis' : 'cluster'}, or unset ${envVar} to use a local one`,
    );
  }
  if (await portOpen('127.0.0.1', port)) {
    throw new ServiceStartError(
      service,
      `port ${port} is taken by something that ${service === 'redis' ? 'does not answer Redis PING' : 'is not answering as Elasticsearch'}`,
      `stop what listens on ${port} (ss -ltnp 'sport = :${port}') or set ${envVar} to another port`,
    );
  }
  return port;
}
