/** A local service could not be brought up: `what` went wrong, `fix` says how to mend it. */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    readonly what: string,
    readonly fix: string,
  ) {
    super(`${service}: ${what}\n  how to fix: ${fix}`);
    this.name = 'ServiceStartError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The port a local service may be started on: `url` names this host, and nothing holds
 * its port. Otherwise says what to do, naming the environment variable that set it.
 */
export async function startablePort(
  service: string,
  url: string,
  defaultPort: number,
  envVar: string,
  portOpen: (host: string, port: number) => Promise<boolean>,
): Promise<number> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  const name = service === 'redis' ? 'Redis' : 'Elasticsearch';
  if (!LOOPBACK.has(u.hostname)) {
    throw new ServiceStartError(
      service,
      `nothing answers at ${u.host}, and only a loopback ${name} can be started here`,
      `start that ${service === 'redis' ? 'Redis' : 'cluster'}, or unset ${envVar} to use a local one`,
    );
  }
  if (await portOpen('127.0.0.1', port)) {
    throw new ServiceStartError(
      service,
      `port ${port} is taken by something that ${service === 'redis' ? 'does not answer Redis PING' : 'is not answering as Elasticsearch'}`,
      `stop what listens on ${port} (ss -ltnp 'sport = :${port}') or set ${envVar} to another port`,
    );
  }
  return port;
}
