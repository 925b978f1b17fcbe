import { join } from 'node:path';
import { ServiceStartError } from './errors.js';
import { elasticsearchDown, elasticsearchPid, elasticsearchUp, type LocalElasticsearch } from './elasticsearch-server.js';
import type { ServicesEnv } from './launcher.js';
import { elasticsearchHealth } from './probe.js';
import { waitFor } from './process.js';

// Several Elasticsearch nodes of one cluster on loopback, from the one integ-test zip
// the single node uses (issue #19: losing a node must lose nothing). Each node has its
// own data, logs, config and pid file under the cluster's directory; they find each
// other through their transport ports. Indices get the default one replica per shard,
// so with three nodes the cluster is green and any one node may go.

export interface LocalCluster {
  name: string;
  nodes: (LocalElasticsearch & { cluster: NonNullable<LocalElasticsearch['cluster']> })[];
  /** Every node's URL, as ELASTICSEARCH_NODES takes them. */
  urls: string[];
}

export function localCluster(s: ServicesEnv, name: string, dir: string, ports: { http: number; transport: number }[], heapMb = 384): LocalCluster {
  const nodeNames = ports.map((_, i) => `${name}-${i + 1}`);
  const nodes = ports.map(({ http, transport }, i) => ({
    url: `http://127.0.0.1:${http}`,
    dir: join(dir, nodeNames[i]!),
    distDir: join(s.dir, 'elasticsearch'),
    heapMb,
    javaHome: s.javaHome,
    runAsUser: 'tta-es',
    startTimeoutMs: 180_000,
    cluster: { name, nodeName: nodeNames[i]!, transportPort: transport, seedTransportPorts: ports.map((p) => p.transport), masterNodes: nodeNames },
  }));
  return { name, nodes, urls: nodes.map((n) => n.url) };
}

/** Starts every node at once (none can finish starting until a majority is up), then waits for green. */
export async function clusterUp(cluster: LocalCluster, timeoutMs = 240_000): Promise<void> {
  await Promise.all(cluster.nodes.map((n) => elasticsearchUp(n)));
  await clusterGreen(cluster, timeoutMs);
}

/** Green with every node in: all shards and their replicas assigned. */
export async function clusterGreen(cluster: LocalCluster, timeoutMs: number): Promise<void> {
  const n = cluster.nodes.length;
  const green = await waitFor(
    async () => {
      for (const url of cluster.urls) {
        const h = await elasticsearchHealth(url, 3000, `?wait_for_status=green&wait_for_nodes=${n}&timeout=2s`);
        if (h.answered && h.httpStatus === 200 && h.status === 'green') return true;
      }
      return false;
    },
    timeoutMs,
    1000,
  );
  if (!green)
    throw new ServiceStartError(
      'elasticsearch',
      `cluster ${cluster.name} not green with ${n} nodes within ${timeoutMs / 1000} s`,
      `see ${cluster.nodes[0]!.dir}/logs`,
    );
}

/** Starts one node again (after `nodeKill`); it rejoins the cluster. */
export async function nodeUp(node: LocalCluster['nodes'][number]): Promise<void> {
  await elasticsearchUp(node);
}

/** kill -9 of one node: a machine lost, not a node shut down. */
export async function nodeKill(node: LocalCluster['nodes'][number]): Promise<void> {
  const pid = await elasticsearchPid(node.dir);
  if (pid) process.kill(pid, 'SIGKILL');
  await waitFor(async () => (await elasticsearchPid(node.dir)) === null, 30_000, 100);
}

export async function clusterDown(cluster: LocalCluster): Promise<void> {
  await Promise.all(cluster.nodes.map((n) => elasticsearchDown(n.dir)));
}
