import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';

export type HealthCheck = () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;

/**
 * /metrics (Prometheus text) and /health (JSON, 200 or 503) for a long-running process.
 * Loopback by default: metrics name file paths and should not face the network.
 */
export async function serveMetrics(
  metrics: Metrics,
  health: HealthCheck,
  host: string,
  port: number,
  beforeScrape: () => Promise<void> = async () => undefined,
  clean: (text: string) => string = (text) => text,
): Promise<Server> {
  const server = createServer((req, res) => {
    const respond = async () => {
      if (req.url === '/metrics') {
        await beforeScrape();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(cleanLabels(await metrics.registry.metrics(), clean));
      } else if (req.url === '/health') {
        const h = await health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        // Degraded (still working, not as it should: writes blocked, say) answers 200 with
        // the causes: a load balancer keeps the process, an operator sees why.
        const status = !h.ok ? 'unhealthy' : h.detail.degraded ? 'degraded' : 'ok';
        res.end(JSON.stringify({ status, ...h.detail }));
      } else {
        res.writeHead(404).end();
      }
    };
    respond().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(err.message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/**
 * Label values (file paths, function names from reports) come from inputs: each goes
 * through the sanitizer's cleaner before it is served. The cleaner reads the value as
 * it was, not as the exposition escapes it (`\"` for a quote, `\\`, `\n`): escaped, a
 * quoted secret (`"DB_PASSWORD": "…"`) was read as a backslash and left whole.
 */
export function cleanLabels(exposition: string, clean: (text: string) => string): string {
  return exposition.replace(/="((?:[^"\\]|\\.)*)"/g, (match, escaped: string) => {
    const value = escaped.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    const cleaned = clean(value);
    return cleaned === value ? match : `="${cleaned.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
  });
}
