import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';

type ClientOptions = ConstructorParameters<typeof Client>[0];
import type { Config } from '../config/index.js';

/** Builds the client from validated config: API key, or user/password, and an optional CA. */
export function createElasticsearch(config: Config['elasticsearch']): Client {
  const options: ClientOptions = {
    node: config.url,
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
