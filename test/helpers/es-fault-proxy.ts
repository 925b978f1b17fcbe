import { createServer, request, type Server } from 'node:http';

// A proxy in front of the test Elasticsearch that answers a share of bulk requests with
// 429 (es_rejected_execution_exception), as an overloaded cluster does; everything else
// it passes through. `rejectShare` can change while it runs.

export interface FaultProxy {
  url: string;
  rejectShare: number;
  rejected: number;
  close(): Promise<void>;
}

export async function esFaultProxy(target: string, rejectShare: number, random: () => number): Promise<FaultProxy> {
  const to = new URL(target);
  const state = { rejectShare, rejected: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && /\/_bulk(\?|$)/.test(req.url ?? '') && random() < state.rejectShare) {
      state.rejected++;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      res.end(
        JSON.stringify({
          error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation (test proxy)' },
          status: 429,
        }),
      );
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get rejectShare() {
      return state.rejectShare;
    },
    set rejectShare(v: number) {
      state.rejectShare = v;
    },
    get rejected() {
      return state.rejected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
