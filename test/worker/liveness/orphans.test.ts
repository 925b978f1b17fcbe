import { describe, expect, it } from 'vitest';
import { forgotten, orphanJobs } from '../../../src/worker/liveness/orphans.js';

describe('orphan jobs', () => {
  const active = [
    { id: '1', processedBy: 'dead' },
    { id: '2', processedBy: 'live' },
    { id: '3', processedBy: 'old-release' },
    { id: '4', processedBy: null },
  ];
  it('are the jobs of registered incarnations without a heartbeat, and only those', () => {
    expect(orphanJobs(active, new Set(['dead', 'live']), new Set(['live'])).map((j) => j.id)).toEqual(['1']);
  });
  it('a registered incarnation is forgotten once it has no heartbeat and no job', () => {
    expect(forgotten(new Set(['dead', 'live', 'gone']), new Set(['live']), active)).toEqual(['gone']);
  });
});
