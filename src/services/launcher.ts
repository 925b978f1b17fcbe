import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { elasticsearchDown, elasticsearchPid, elasticsearchUp } from './elasticsearch-server.js';
import { isRoot } from './process.js';
import { elasticsearchHealth, redisAnswers } from './probe.js';
import { redisDown, redisPid, redisUp } from './redis-server.js';

// Brings up the Redis and Elasticsearch the pipeline and its tests need, on loopback,
// reusing whatever already answers at REDIS_URL / ELASTICSEARCH_URL. Everything it
// starts lives under one directory outside the repository, with pid files, so `down`
// stops exactly what `up` started and nothing else.

export interface ServicesEnv {
  redisUrl: string;
  elasticsearchUrl: string;
  dir: string;
  heapMb: number;
  javaHome?: string;
}

export function servicesEnv(env: NodeJS.ProcessEnv = process.env): ServicesEnv {
  const fallbackDir = isRoot() ? '/var/tmp/tta-carbon-services' : join(homedir(), '.cache', 'tta-carbon', 'services');
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    elasticsearchUrl: env.ELASTICSEARCH_URL || 'http://127.0.0.1:9200',
    dir: env.TTA_SERVICES_DIR || fallbackDir,
    heapMb: Number(env.TTA_ES_HEAP_MB || 512),
    javaHome: env.TTA_ES_JAVA_HOME || undefined,
  };
}

export interface ServiceState {
  name: 'redis' | 'elasticsearch';
  url: string;
  answering: boolean;
  /** Pid when this launcher started it and it still runs. */
  ourPid: number | null;
  detail?: string;
}

export async function servicesUp(s: ServicesEnv, say: (line: string) => void): Promise<void> {
  // Traversable by the unprivileged Elasticsearch user; each service's own dir is tighter.
  await mkdir(s.dir, { recursive: true, mode: 0o755 });
  say(`redis: checking ${safe(s.redisUrl)}`);
  const r = await redisUp({ url: s.redisUrl, dir: join(s.dir, 'redis') });
  say(r.started ? `redis: started (pid ${r.pid}) with AOF and noeviction` : 'redis: already answering, using it');
  say(`elasticsearch: checking ${safe(s.elasticsearchUrl)}`);
  const e = await elasticsearchUp({
    url: s.elasticsearchUrl,
    dir: join(s.dir, 'elasticsearch'),
    heapMb: s.heapMb,
    javaHome: s.javaHome,
    runAsUser: 'tta-es',
    startTimeoutMs: 180_000,
  });
  say(e.started ? `elasticsearch: started (pid ${e.pid}), cluster is up` : 'elasticsearch: already answering, using it');
}

export type ServiceName = ServiceState['name'];

export async function servicesDown(s: ServicesEnv, say: (line: string) => void, only: readonly ServiceName[] = ['elasticsearch', 'redis']): Promise<void> {
  if (only.includes('elasticsearch')) {
    say((await elasticsearchDown(join(s.dir, 'elasticsearch'))) ? 'elasticsearch: stopped' : 'elasticsearch: not started by us, left alone');
  }
  if (only.includes('redis')) say((await redisDown(join(s.dir, 'redis'))) ? 'redis: stopped' : 'redis: not started by us, left alone');
}

export async function servicesStatus(s: ServicesEnv): Promise<ServiceState[]> {
  const es = await elasticsearchHealth(s.elasticsearchUrl);
  return [
    { name: 'redis', url: safe(s.redisUrl), answering: await redisAnswers(s.redisUrl), ourPid: await redisPid(join(s.dir, 'redis')) },
    {
      name: 'elasticsearch',
      url: safe(s.elasticsearchUrl),
      answering: es.answered,
      ourPid: await elasticsearchPid(join(s.dir, 'elasticsearch')),
      detail: es.status ? `cluster ${es.status}` : es.detail,
    },
  ];
}

function safe(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//<credentials>@');
}
