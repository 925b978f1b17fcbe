import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCommand } from './debian.js';
import { ServiceStartError } from './errors.js';
import { livePid, readPid, run, startablePort, stopPidFile, waitFor } from './process.js';
import { redisAnswers } from './probe.js';

export interface LocalRedis {
  url: string;
  dir: string;
}

export type UpResult = { started: boolean; pid?: number };

/** Uses the Redis at `url` if it answers; otherwise starts Debian's redis-server on loopback. */
export async function redisUp({ url, dir }: LocalRedis): Promise<UpResult> {
  if (await redisAnswers(url)) return { started: false };
  const port = await startablePort('redis', url, 6379, 'REDIS_URL');
  const u = new URL(url);
  const binary = await ensureRedisBinary();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pidFile = join(dir, 'redis.pid');
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--dir',
    dir,
    '--logfile',
    join(dir, 'redis.log'),
    // AOF so a Redis restart keeps queued batches; noeviction because BullMQ requires it.
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
  ];
  if (u.password) args.push('--requirepass', decodeURIComponent(u.password));
  const r = await run(binary, args);
  if (r.code !== 0) throw new ServiceStartError('redis', `redis-server exited with ${r.code}: ${r.stderr.trim()}`, `see ${join(dir, 'redis.log')}`);
  if (!(await waitFor(() => redisAnswers(url), 15_000, 200))) {
    const log = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
    throw new ServiceStartError(
      'redis',
      `started but does not answer on port ${port}:\n${log.split('\n').slice(-10).join('\n')}`,
      `see ${join(dir, 'redis.log')}`,
    );
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
  const r = await ensureCommand('redis-server', 'redis-server');
  if ('path' in r) return r.path;
  throw new ServiceStartError('redis', r.error, 'install redis-server (sudo apt-get install -y redis-server), or point REDIS_URL at a running Redis');
}
