import { readFile } from 'node:fs/promises';
import type { Client } from '@elastic/elasticsearch';
import type { Redis } from 'ioredis';

// CPU time and peak RSS of a process from /proc: the benchmarks report each process's
// own cost, services included, because on this machine they all share two cores.

export interface ProcStats {
  cpuSec: number;
  peakRssMb: number;
}

export async function procStats(pid: number): Promise<ProcStats> {
  const st = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // Fields 14 and 15 of stat (utime, stime) in clock ticks; Linux's USER_HZ is 100.
  return { cpuSec: (Number(st[11]) + Number(st[12])) / 100, peakRssMb: Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024 };
}

/** The pids of the Elasticsearch node and the Redis server answering these clients. */
export async function servicePids(es: Client, redis: Redis): Promise<{ elasticsearch: number; redis: number }> {
  const info = await es.nodes.info({ node_id: '_local', metric: 'process' });
  const node = Object.values(info.nodes)[0]!;
  const server = await redis.info('server');
  return { elasticsearch: Number(node.process!.id), redis: Number(/process_id:(\d+)/.exec(server)![1]) };
}

/** Resident memory now (not the peak), for sampling within phases. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}
