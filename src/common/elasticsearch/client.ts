import { readFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';

type ClientOptions = ConstructorParameters<typeof Client>[0];
import type { Config } from '../config/index.js';

/**
 * Builds the client from validated config: API key, or user/password, and an optional CA;
 * `own`: what a part sets for itself (the worker's reading of bulk answers).
 * Loaded on demand: the client (and undici) cost start-up CPU and memory the shipper,
 * the role on every TTA host, never needs.
 */
export async function createElasticsearch(config: Config['elasticsearch'], own: Pick<ClientOptions, 'Serializer'> = {}): Promise<Client> {
  const { Client } = await import('@elastic/elasticsearch');
  const options: ClientOptions = {
    ...own,
    ...(config.nodes ? { nodes: config.nodes } : { node: config.url }),
    requestTimeout: config.requestTimeoutMs,
    // Retries with backoff are ours (per item); the client's own would hide outages. But
    // a request that finds a node dead goes once to each other node: one node of several
    // lost must not fail retention, health or a bulk (found by test/fleet/
    // elasticsearch-node-loss.test.ts: retention failed on its first request), and
    // a cluster with every node down still fails at once.
    maxRetries: config.nodes ? config.nodes.length - 1 : 0,
    compression: false,
    // Errors carry their request, bulk body included. The default redaction ('replace')
    // clones that with Object.entries, which walks a Buffer body index by index: a
    // worker failing megabyte requests against a dead node reached 440-500 MB RSS.
    // 'remove' drops the headers (credentials), the connection (its URL) and the
    // request options outright and copies nothing.
    redaction: { type: 'remove' },
  };
  if (config.apiKey) options.auth = { apiKey: config.apiKey };
  else if (config.username && config.password) options.auth = { username: config.username, password: config.password };
  if (config.caFile) options.tls = { ca: readFileSync(config.caFile) };
  return new Client(options);
}
