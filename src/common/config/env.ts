// Environment variables that override the YAML file, with the staging guide's names.
// Each maps to one config key; numbers are parsed here so the schema sees real types
// and its message can name the variable the bad value came from.

export interface EnvBinding {
  env: string;
  path: readonly string[];
  /** list: comma-separated. */
  type: 'string' | 'number' | 'list';
  description: string;
}

export const ENV_BINDINGS: readonly EnvBinding[] = [
  { env: 'TTA_ENV', path: ['environment'], type: 'string', description: 'environment name; documents carry it and indices are tta-<env>-carbon-*' },
  { env: 'TTA_LOG_DIR', path: ['logDir'], type: 'string', description: 'where carbon.log lives (default /var/log/tta/<env>)' },
  { env: 'CARBON_OUTPUT_DIR', path: ['codecarbonDir'], type: 'string', description: 'codecarbon output directory (default <log dir>/codecarbon)' },
  { env: 'TTA_DATA_DIR', path: ['dataDir'], type: 'string', description: 'registry of offsets and rotation state (default /var/lib/tta-carbon)' },
  { env: 'TTA_HOST_NAME', path: ['hostName'], type: 'string', description: "host.name on every document (default this machine's hostname)" },
  { env: 'CARBON_PROJECT_NAME', path: ['project', 'name'], type: 'string', description: 'codecarbon project name (default TTA-Staging)' },
  { env: 'CARBON_LOG_LEVEL', path: ['logLevel'], type: 'string', description: "level of tta-carbon's own logs (default info)" },
  {
    env: 'TTA_LOG_FORMAT',
    path: ['logFormat'],
    type: 'string',
    description: "format of tta-carbon's own logs: auto (readable on a terminal, else JSON), pretty or json",
  },
  {
    env: 'CARBON_MEASUREMENT_INTERVAL',
    path: ['project', 'measurementIntervalSeconds'],
    type: 'number',
    description: 'seconds between codecarbon measurements (default 60)',
  },
  {
    env: 'REDIS_URL',
    path: ['redis', 'url'],
    type: 'string',
    description: 'redis:// or rediss:// URL, password allowed in it (default redis://127.0.0.1:6379)',
  },
  {
    env: 'ELASTICSEARCH_URL',
    path: ['elasticsearch', 'url'],
    type: 'string',
    description: 'Elasticsearch URL, user:password allowed in it (default http://127.0.0.1:9200)',
  },
  {
    env: 'ELASTICSEARCH_NODES',
    path: ['elasticsearch', 'nodes'],
    type: 'list',
    description: 'several Elasticsearch node URLs of one cluster, comma-separated (replaces ELASTICSEARCH_URL)',
  },
  {
    env: 'REDIS_SENTINELS',
    path: ['redis', 'sentinels'],
    type: 'list',
    description: 'Redis Sentinel host:port list, comma-separated; the primary is asked of them',
  },
  { env: 'REDIS_SENTINEL_NAME', path: ['redis', 'name'], type: 'string', description: 'the Sentinel master name (default mymaster)' },
  {
    env: 'REDIS_SENTINEL_PASSWORD',
    path: ['redis', 'sentinelPassword'],
    type: 'string',
    description: "password of the sentinels (the primary's is in REDIS_URL)",
  },
  {
    env: 'TTA_REDIS_MIN_REPLICAS',
    path: ['redis', 'minReplicas'],
    type: 'number',
    description: 'replicas a batch must reach (Redis WAIT) before the shipper moves on (default 0)',
  },
  { env: 'ELASTICSEARCH_API_KEY', path: ['elasticsearch', 'apiKey'], type: 'string', description: 'Elasticsearch API key (base64 id:key)' },
  { env: 'ELASTICSEARCH_USERNAME', path: ['elasticsearch', 'username'], type: 'string', description: 'Elasticsearch user for basic auth' },
  { env: 'ELASTICSEARCH_PASSWORD', path: ['elasticsearch', 'password'], type: 'string', description: 'Elasticsearch password for basic auth' },
  {
    env: 'TTA_METRICS_PORT',
    path: ['metrics', 'port'],
    type: 'number',
    description: 'port of /metrics and /health on 127.0.0.1 (default 9464; 0 picks a free one)',
  },
  {
    env: 'ELASTICSEARCH_CA_FILE',
    path: ['elasticsearch', 'caFile'],
    type: 'string',
    description: 'PEM file of the CA that signed the Elasticsearch certificate',
  },
];

export class EnvValueError extends Error {
  constructor(
    readonly binding: EnvBinding,
    readonly value: string,
  ) {
    super(`${binding.env}=${JSON.stringify(value)}: expected a number`);
    this.name = 'EnvValueError';
  }
}

/** Returns a copy of `raw` with every set variable written at its path. */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const binding of ENV_BINDINGS) {
    const value = env[binding.env];
    if (value === undefined || value === '') continue;
    setPath(
      out,
      binding.path,
      binding.type === 'number'
        ? parseNumber(binding, value)
        : binding.type === 'list'
          ? value
              .split(',')
              .map((v) => v.trim())
              .filter(Boolean)
          : value,
    );
  }
  return out;
}

export function bindingFor(path: readonly PropertyKey[]): EnvBinding | undefined {
  const key = path.join('.');
  return ENV_BINDINGS.find((b) => b.path.join('.') === key);
}

function parseNumber(binding: EnvBinding, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new EnvValueError(binding, value);
  return n;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
