import { describe, expect, it } from 'vitest';
import { serveMetrics } from '../../../src/common/metrics/http.js';
import { createMetrics } from '../../../src/common/metrics/metrics.js';

describe('/health', () => {
  it('is 200 "degraded" with the causes while a part works but not as it should, 503 when a check fails', async () => {
    let state: { ok: boolean; detail: Record<string, unknown> } = {
      ok: true,
      detail: { checks: { redis: true }, degraded: { elasticsearch: { cause: 'writes_blocked' } } },
    };
    const server = await serveMetrics(createMetrics({ environment: 'test', role: 'worker' }), async () => state, '127.0.0.1', 0);
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
      let r = await fetch(url);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ status: 'degraded', degraded: { elasticsearch: { cause: 'writes_blocked' } } });
      state = { ok: true, detail: { checks: { redis: true } } };
      r = await fetch(url);
      expect(await r.json()).toMatchObject({ status: 'ok' });
      state = { ok: false, detail: { checks: { redis: false } } };
      r = await fetch(url);
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ status: 'unhealthy' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
