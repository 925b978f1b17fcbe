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

  it('gives the shipper the log directory and a persistent registry volume', () => {
    const env = envOf('shipper');
    const m = mounts('shipper');
    expect(m.find((x) => x.target === env.TTA_LOG_DIR)?.source).toBe('/var/log/tta/staging');
    expect(env.CARBON_OUTPUT_DIR!.startsWith(env.TTA_LOG_DIR!)).toBe(true);
    const data = m.find((x) => x.target === env.TTA_DATA_DIR);
    expect(compose.volumes).toHaveProperty(data!.source);
  });
});
