import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, StreamIds, type BatchJobData } from '../../src/common/queue/contract.js';
import { buildRequests } from '../../src/worker/batch.js';
import { documentJson } from '../../src/worker/bulk/body.js';
import { Sanitizer } from '../../src/worker/sanitize/sanitizer.js';

describe('buildRequests', () => {
  const ctx = {
    environment: 'staging',
    indexPrefix: 'tta-staging-carbon',
    timeZone: 'UTC',
    retentionDays: 30,
    now: new Date(),
    queuedAt: new Date(),
    sanitizer: new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round' as const, emails: true }),
    logPatterns: [],
    projectName: 'P',
  };

  it('a record that cannot be decoded becomes a dead letter; the rest of the batch goes on', () => {
    const batch = {
      v: CONTRACT_VERSION,
      kind: 'csv',
      host: 'h',
      path: '/cc/emissions.csv',
      fileId: 'f',
      endOffset: 100,
      records: [
        { offset: 10, row: { timestamp: new Date().toISOString().slice(0, 19), emissions: '0.5' } },
        { offset: 40, row: null },
        { offset: 70, row: { timestamp: new Date().toISOString().slice(0, 19), emissions: '0.7', password: 'pw-in-csv' } },
      ],
    } as unknown as BatchJobData;
    const { requests, refused } = buildRequests(batch, ctx);
    expect(requests.map((r) => r.id)).toEqual(['f.10.0', 'f.70.0']);
    expect(JSON.parse(documentJson(requests[1]!)).codecarbon).toMatchObject({ emissions: 0.7, password: '[REDACTED]' });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ id: 'f.40.0', type: 'decode_error' });
    expect(refused[0]!.reason).toMatch(/TypeError/);
  });

  it("indexes a batch under the ids its shipper chose: short ones for a v3 file, the stream's own for a file read before", () => {
    const text = 'INFO:a:one\nINFO:a:two\n';
    const lines = (ids?: 'short') =>
      ({
        v: CONTRACT_VERSION,
        kind: 'lines',
        host: 'h',
        source: 's',
        path: '/logs/carbon.log',
        fileId: 'f',
        ...(ids && { ids }),
        endOffset: text.length,
        records: [{ offset: 1000, end: 1000 + text.length }],
        grouping: { startPattern: '^INFO:', maxLines: 10, maxBytes: 4096 },
      }) as BatchJobData;
    const short = buildRequests(lines('short'), ctx, Buffer.from(text)).requests;
    const ids = new StreamIds('s.f', 'short');
    expect(short.map((r) => r.id)).toEqual([ids.id(1000, 0), ids.id(1011, 0)]);
    for (const r of short) expect(r.body.text(r.from, r.doc - 1)).toBe(`{"create":{"_index":"${r.index}","_id":"${r.id}"}}`);
    const long = buildRequests(lines(), ctx, Buffer.from(text)).requests;
    expect(long.map((r) => r.id)).toEqual(['s.f.1000.0', 's.f.1011.0']);
  });
});
