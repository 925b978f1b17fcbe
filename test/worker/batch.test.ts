import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, type BatchJobData } from '../../src/common/queue/contract.js';
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
});
