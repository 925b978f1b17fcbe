import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/ops/status.js';
import { parseExposition } from '../../src/ops/status.js';
import { renderStatus } from '../../src/ops/status-view.js';

const snap = (at: number, offset: number, indexed: number, dead: number, workers: Snapshot['workers'] = []): Snapshot => ({
  at,
  shipper: { url: 'http://127.0.0.1:9464/metrics', reachable: true, paused: false, enqueueFailures: 0, linesRead: offset / 100 },
  files: [{ path: `/var/log/tta/staging/${'very-long-directory-name/'.repeat(4)}carbon.log`, size: offset + 500, unshipped: 500 }],
  queue: { waiting: 3, active: 1, delayed: 0, failed: 2 },
  workers,
  indexed,
  deadLetters: dead,
  warnings: [],
  problems: [],
});

const ctx = { environment: 'staging', queue: 'tta-carbon', width: 80, clock: () => '10:00:00' };

describe('the status view', () => {
  it('rates over the last seconds, counts over the last minute, 80 columns', () => {
    const worker = { name: 'idx-1:123:abcd', host: 'idx-1', pid: 123, started: '2026-12-07T09:00:00.000Z', alive: true, active: 1 };
    const gone = { ...worker, name: 'idx-2:9:ffff', host: 'idx-2', alive: false, active: 0 };
    const text = renderStatus([snap(0, 10_000, 1000, 1), snap(1000, 12_048, 1100, 4, [worker, gone])], ctx);
    expect(text).toContain('2.0 KB/s');
    expect(text).toContain('20.5 lines/s');
    expect(text).toContain('INDEXED  1,100 documents  100 docs/s');
    expect(text).toContain('DEAD LETTERS 4 (+3 last minute)');
    expect(text).toContain('QUEUE  waiting 3  active 1  delayed 0  failed 2');
    expect(text).toContain('WORKERS  1 alive, 1 gone (awaiting the reaper)');
    expect(text).toMatch(/….*carbon\.log +11\.8 KB +500 B/);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('names a source it cannot read and shows the rest', () => {
    const s = {
      ...snap(0, 0, 0, 0),
      shipper: { url: 'http://127.0.0.1:9464/metrics', reachable: false, paused: false, enqueueFailures: 0, linesRead: 0 },
      files: [],
      indexed: null,
      problems: ['Elasticsearch: connect ECONNREFUSED'],
    };
    const text = renderStatus([s], ctx);
    expect(text).toContain('SHIPPER (this host)  not answering at http://127.0.0.1:9464/metrics');
    expect(text).toContain('INDEXED  not readable');
    expect(text).toContain('PROBLEMS\n  Elasticsearch: connect ECONNREFUSED');
  });

  it('the newest three warnings the processes logged, cut to the width', () => {
    const warnings = ['first', 'second', 'third', `fourth ${'x'.repeat(120)}`].map((msg, i) => ({
      time: `2026-12-07T10:00:0${i}.000Z`,
      level: 'warn' as const,
      role: 'shipper',
      msg,
    }));
    const text = renderStatus([{ ...snap(0, 0, 0, 0), warnings }], ctx);
    const shown = text.split('LATEST WARNINGS (this host)\n')[1]!.split('\n');
    expect(shown.slice(0, 2)).toEqual(['  10:00:00 WARN [shipper] second', '  10:00:00 WARN [shipper] third']);
    expect(shown[2]).toMatch(/^ {2}10:00:00 WARN \[shipper\] fourth x+…$/);
    expect(text).not.toContain('first');
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('reads prom-client exposition, escaped label values included', () => {
    const samples = parseExposition('# HELP x y\n# TYPE x gauge\ntta_carbon_file_size_bytes{path="/a \\"b\\".log"} 42\ntta_carbon_reading_paused 0\n');
    expect(samples).toEqual([
      { name: 'tta_carbon_file_size_bytes', labels: { path: '/a "b".log' }, value: 42 },
      { name: 'tta_carbon_reading_paused', labels: {}, value: 0 },
    ]);
  });
});
