import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceStartError } from './errors.js';
import { isRoot, livePid, portOpen, readPid, run, stopPidFile, waitFor, which } from './process.js';
import { redisAnswers } from './probe.js';

export interface LocalRedis {
  url: string;
  dir: string;
}

export type UpResult = { started: boolean; pid?: number };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Uses the Redis at `url` if it answers; otherwise starts Debian's redis-server on loopback. */
export async function redisUp({ url, dir }: LocalRedis): Promise<UpResult> {
  if (await redisAnswers(url)) return { started: false };
  const u = new URL(url);
  const port = Number(u.port || 6379);
  if (!LOOPBACK.has(u.hostname)) {
    throw new ServiceStartError('redis', `nothing answers at ${u.host}, and only a loopback Redis can be started here`, 'start that Redis, or unset REDIS_URL to use a local one');
  }
  if (await portOpen('127.0.0.1', port)) {
    throw new ServiceStartError('redis', `port ${port} is taken by something that does not answer Redis PING`, `stop what listens on ${port} (ss -ltnp 'sport = :${port}') or set REDIS_URL to another port`);
  }
  const binary = await ensureRedisBinary();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, 'redis.pid');
  const args = [
    '--bind', '127.0.0.1', '--port', String(port), '--daemonize', 'yes',
    '--pidfile', pidFile, '--dir', dir, '--logfile', join(dir, 'redis.log'),
    // AOF so a Redis restart keeps queued batches; noeviction because BullMQ requires it.
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction',
    '--save', '',
  ];
  if (u.password) args.push('--requirepass', decodeURIComponent(u.password));
  const r = await run(binary, args);
  if (r.code !== 0) throw new ServiceStartError('redis', `redis-server exited with ${r.code}: ${r.stderr.trim()}`, `see ${join(dir, 'redis.log')}`);
  if (!(await waitFor(() => redisAnswers(url), 15_000, 200))) {
    const log = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
    throw new ServiceStartError('redis', `started but does not answer on port ${port}:\n${log.split('\n').slice(-10).join('\n')}`, `see ${join(dir, 'redis.log')}`);
  }
  return { started: true, pid: (await readPid(pidFile)) ?? undefined };
}

export function redisDown(dir: string): Promise<boolean> {
  return stopPidFile(join(dir, 'redis.pid'), 15_000);
}

export function redisPid(dir: string): Promise<number | null> {
  return livePid(join(dir, 'redis.pid'));
}

async function ensureRedisBinary(): Promise<string> {
  const found = (await which('redis-server')) ?? null;
  if (found) return found;
  if (!isRoot()) {
    throw new ServiceStartError('redis', 'redis-server is not installed', 'sudo apt-get install -y redis-server (or point REDIS_URL at a running Redis)');
  }
  let r = await run('apt-get', ['install', '-y', '-q', 'redis-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.code !== 0) {
    await run('apt-get', ['update', '-q']);
    r = await run('apt-get', ['install', '-y', '-q', 'redis-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  const installed = await which('redis-server');
  if (!installed) throw new ServiceStartError('redis', `apt-get install redis-server failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, 'install redis-server by hand, or point REDIS_URL at a running Redis');
  return installed;
}
