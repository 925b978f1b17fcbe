import { Redis } from 'ioredis';

/** Does a Redis server answer PING at `url` (a NOAUTH answer counts as answering)? */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch (err) {
    return /NOAUTH|WRONGPASS/.test((err as Error).message);
  } finally {
    client.disconnect();
  }
}

export interface EsHealth {
  answered: boolean;
  status?: string;
  httpStatus?: number;
  detail?: string;
}

/** GET /_cluster/health; credentials in the URL become a Basic header (fetch refuses them inline). */
export async function elasticsearchHealth(url: string, timeoutMs = 2000, query = ''): Promise<EsHealth> {
  const u = new URL(url);
  const headers: Record<string, string> = {};
  if (u.username) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  u.pathname = `${u.pathname.replace(/\/$/, '')}/_cluster/health`;
  u.search = query;
  try {
    const res = await fetch(u, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { status?: string };
    return { answered: true, httpStatus: res.status, status: body.status };
  } catch (err) {
    return { answered: false, detail: (err as Error).message };
  }
}
