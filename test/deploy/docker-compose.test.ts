import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ELASTICSEARCH_VERSION } from '../../src/services/versions.js';

// No Docker engine here: the compose file is checked by reading it, against the wiring
// the images document (redis:/data, ES single-node, Kibana's ELASTICSEARCH_HOSTS).

const compose = parse(readFileSync('docker-compose.yml', 'utf8'));
const svc = compose.services;
const envOf = (name: string): Record<string, string> => Object.fromEntries((svc[name].environment as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2)));
// Compose interpolation with an empty environment: ${VAR:-default} becomes default.
const interpolate = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
const mounts = (name: string) =>
  (svc[name].volumes as string[]).map((v) => {
    const [source, target] = interpolate(v).split(':');
    return { source: source!, target: target! };
  });
const clientVersion: string = JSON.parse(readFileSync('node_modules/@elastic/elasticsearch/package.json', 'utf8')).version;

describe('docker-compose.yml', () => {
  it('has the five services', () => {
    expect(Object.keys(svc).sort()).toEqual(['elasticsearch', 'kibana', 'redis', 'shipper', 'worker']);
  });

  it('runs Redis with AOF, noeviction and a volume on /data', () => {
    const cmd = svc.redis.command.join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--maxmemory-policy noeviction');
    const [volume, target] = svc.redis.volumes[0].split(':');
    expect(target).toBe('/data');
    expect(compose.volumes).toHaveProperty(volume);
  });

  it('runs a single-node Elasticsearch of the client major, with its data on a volume', () => {
    const tag = svc.elasticsearch.image.split(':').pop();
    expect(tag).toBe(ELASTICSEARCH_VERSION);
    expect(tag.split('.')[0]).toBe(clientVersion.split('.')[0]);
    expect(envOf('elasticsearch')['discovery.type']).toBe('single-node');
    expect(svc.elasticsearch.volumes[0]).toMatch(/^[\w-]+:\/usr\/share\/elasticsearch\/data$/);
    expect(svc.elasticsearch.healthcheck.test.join(' ')).toContain('_cluster/health');
  });

  it('points Kibana at the elasticsearch service, same version', () => {
    expect(svc.kibana.image.split(':').pop()).toBe(ELASTICSEARCH_VERSION);
    expect(envOf('kibana').ELASTICSEARCH_HOSTS).toBe('http://elasticsearch:9200');
    expect(svc.kibana.depends_on.elasticsearch.condition).toBe('service_healthy');
  });

  it('builds shipper and worker from the Dockerfile and wires them to the services', () => {
    expect(existsSync('Dockerfile')).toBe(true);
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/ENTRYPOINT \["node", "\/app\/bin\/tta-carbon.js"\]/);
    for (const name of ['shipper', 'worker']) {
      expect(svc[name].build).toBe('.');
      expect(svc[name].command).toEqual([name]);
      expect(new URL(envOf(name).REDIS_URL!).hostname).toBe('redis');
      expect(svc[name].depends_on.redis.condition).toBe('service_healthy');
    }
    expect(new URL(envOf('worker').ELASTICSEARCH_URL!).hostname).toBe('elasticsearch');
    expect(svc.worker.depends_on.elasticsearch.condition).toBe('service_healthy');
  });

  it('copies into the build stage every file that `npm run build` reads', () => {
    // The image is built without the repository: a file the build script names but the
    // Dockerfile does not copy fails `docker compose build` (tools/bundle.mjs did once).
    const build = JSON.parse(readFileSync('package.json', 'utf8')).scripts.build as string;
    const files = [...build.matchAll(/(?:-p|node)\s+(\S+\.(?:json|mjs|js))/g)].map((m) => m[1]!);
    expect(files).toEqual(expect.arrayContaining(['tsconfig.json', 'tools/bundle.mjs']));
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const beforeBuild = dockerfile.slice(0, dockerfile.indexOf('RUN npm run build'));
    const copied = [...beforeBuild.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const file of files)
      expect(
        copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, '')}/`)),
        file,
      ).toBe(true);
    expect(copied).toContain('src');
  });

  it('gives the shipper the log directory and a persistent registry volume', () => {
    const env = envOf('shipper');
    const m = mounts('shipper');
    expect(m.find((x) => x.target === env.TTA_LOG_DIR)?.source).toBe('/var/log/tta/staging');
    expect(env.CARBON_OUTPUT_DIR!.startsWith(env.TTA_LOG_DIR!)).toBe(true);
    const data = m.find((x) => x.target === env.TTA_DATA_DIR);
    expect(compose.volumes).toHaveProperty(data!.source);
  });
});

describe('docker-compose.scale-out.yml laid over it', () => {
  // Compose reads YAML merge keys (<<), as the yaml package does when asked.
  const over = parse(readFileSync('docker-compose.scale-out.yml', 'utf8'), { merge: true });
  // Compose's merge: services' environments merged by key, other keys replaced.
  const merged = (name: string): Record<string, string> => {
    const list = (s: unknown) => (Array.isArray(s) ? (s as string[]) : []);
    const all = [...list(svc[name]?.environment), ...list(over.services[name]?.environment)];
    return Object.fromEntries(all.map((e) => e.split(/=(.*)/s).slice(0, 2)));
  };
  const esNodes = ['elasticsearch', 'es02', 'es03'];

  it('makes the base Elasticsearch one of a cluster of three that name and seed each other', () => {
    const envs = esNodes.map(merged);
    expect(envs[0]!['discovery.type']).toBe('multi-node');
    expect(new Set(envs.map((e) => e['cluster.name'])).size).toBe(1);
    const nodeNames = envs.map((e) => e['node.name']);
    expect(new Set(nodeNames).size).toBe(3);
    for (const [i, e] of envs.entries()) {
      expect(e['cluster.initial_master_nodes']!.split(',').sort()).toEqual([...nodeNames].sort());
      expect(e['discovery.seed_hosts']!.split(',').sort()).toEqual(esNodes.filter((_, j) => j !== i).sort());
      expect(e['xpack.security.enabled']).toBe('false');
    }
    for (const n of ['es02', 'es03']) {
      expect(over.services[n].image).toBe(svc.elasticsearch.image);
      expect(over.volumes).toHaveProperty(over.services[n].volumes[0].split(':')[0]);
    }
  });

  it('gives Redis a replica and three Sentinels with a quorum of two watching it', () => {
    expect(over.services['redis-replica'].command.join(' ')).toContain('--replicaof redis 6379');
    const sentinels = Object.keys(over.services).filter((n) => n.startsWith('sentinel-'));
    expect(sentinels).toHaveLength(3);
    for (const n of sentinels) {
      const script = over.services[n].command.join(' ');
      expect(script).toContain('sentinel monitor mymaster redis 6379 2');
      expect(script).toContain('--sentinel');
    }
  });

  it('points shipper and workers at the Sentinels and the three nodes, waiting for one replica', () => {
    for (const name of ['shipper', 'worker']) {
      const env = merged(name);
      expect(env.REDIS_SENTINELS!.split(',').map((h) => h.split(':')[0])).toEqual(['sentinel-1', 'sentinel-2', 'sentinel-3']);
      expect(env.REDIS_SENTINEL_NAME).toBe('mymaster');
    }
    expect(merged('shipper').TTA_REDIS_MIN_REPLICAS).toBe('1');
    expect(
      merged('worker')
        .ELASTICSEARCH_NODES!.split(',')
        .map((u) => new URL(u).hostname),
    ).toEqual(esNodes);
    expect(over.services.worker.deploy.replicas).toBe(2);
    expect(JSON.parse(merged('kibana').ELASTICSEARCH_HOSTS!).map((u: string) => new URL(u).hostname)).toEqual(esNodes);
  });
});
