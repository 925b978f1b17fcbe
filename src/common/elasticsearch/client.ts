import { readFileSync } from 'node:fs';
import type { Client } from '@elastic/elasticsearch';

type ClientOptions = ConstructorParameters<typeof Client>[0];
import type { Config } from '../config/index.js';

/**
 * Builds the client from validated config: API key, or user/password, and an optional CA.
 * Loaded on demand: the client (and undici) cost ~0.3 CPU-s and ~30 MB to load, which
 * the shipper, the role on every TTA host, never needs.
 */
export async function createElasticsearch(config: Config['elasticsearch']): Promise<Client> {
  const { Client } = await import('@elastic/elasticsearch');
  const options: ClientOptions = {
    ...(config.nodes ? { nodes: config.nodes } : { node: config.url }),
    requestTimeout: config.requestTimeoutMs,
    // Retries are ours (per item, with backoff); the client's own would hide outages.
    maxRetries: 0,
    compression: false,
  };
  if (config.apiKey) options.auth = { apiKey: config.apiKey };
  else if (config.username && config.password) options.auth = { username: config.username, password: config.password };
  if (config.caFile) options.tls = { ca: readFileSync(config.caFile) };
  return new Client(options);
}
