import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/common/metrics/metrics.js';
import { eventTemplate } from '../../src/worker/template.js';

// No Grafana or Kibana here: the dashboards are checked against what they depend on,
// the metric names our processes export and the fields our index template maps.

const exported = new Set(
  createMetrics({ environment: 'x', role: 'x' })
    .registry.getMetricsAsArray()
    .map((m) => m.name),
);

function mappedFields(props: Record<string, any>, prefix = ''): string[] {
  return Object.entries(props).flatMap(([k, v]) => (v.properties ? mappedFields(v.properties, `${prefix}${k}.`) : [`${prefix}${k}`]));
}
const fields = new Set(mappedFields(eventTemplate('tta-staging-carbon').template.mappings.properties));

describe('Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync('deploy/grafana/tta-carbon.json', 'utf8'));
  const exprs: string[] = dash.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));

  it('has the panels the guide lists', () => {
    const titles = dash.panels.map((p: any) => p.title).join(' | ');
    for (const want of [/health/i, /emissions/i, /log file size/i, /error rate/i]) expect(titles).toMatch(want);
  });

  it('queries only metrics tta-carbon exports', () => {
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:up|carbon_[a-z_]+|tta_carbon_[a-z_]+)(?=\{|\[|\))/g) ?? []));
    expect(used.size).toBeGreaterThan(6);
    for (const name of used) expect(exported.has(name), name).toBe(true);
  });
});

describe('Kibana saved objects', () => {
  const objects = readFileSync('deploy/kibana/tta-carbon.ndjson', 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

  it('a data view on tta-<env>-carbon-*, three visualizations, a saved search, a dashboard', () => {
    expect(objects.map((o) => o.type).sort()).toEqual(['dashboard', 'index-pattern', 'search', 'visualization', 'visualization', 'visualization']);
    expect(objects.find((o) => o.type === 'index-pattern').attributes).toMatchObject({ title: 'tta-staging-carbon-*', timeFieldName: '@timestamp' });
  });

  it('emissions come from runs (each once), the per-function breakdown from function events', () => {
    const query = (id: string) => JSON.parse(objects.find((o) => o.id === id).attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query;
    expect(query('tta-carbon-emissions-per-day')).toBe('event.dataset : "codecarbon.run"');
    expect(query('tta-carbon-emissions-per-project')).toBe('event.dataset : "codecarbon.run"');
    expect(query('tta-carbon-emissions-per-function')).toBe('event.dataset : "codecarbon.function"');
  });

  it('every reference resolves to an object in the file', () => {
    const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
    for (const o of objects) for (const r of o.references) expect(ids.has(`${r.type}:${r.id}`), `${o.id} -> ${r.id}`).toBe(true);
  });

  it('uses only fields the index template maps', () => {
    const used = new Set<string>();
    for (const o of objects) {
      const vis = o.attributes.visState && JSON.parse(o.attributes.visState);
      for (const agg of vis?.aggs ?? []) if (agg.params.field) used.add(agg.params.field);
      for (const c of o.attributes.columns ?? []) used.add(c);
      const source = o.attributes.kibanaSavedObjectMeta?.searchSourceJSON;
      const query = source ? (JSON.parse(source).query.query as string) : '';
      for (const m of query.matchAll(/([\w.@]+) :/g)) used.add(m[1]!);
    }
    expect([...used].sort()).toEqual([
      '@timestamp',
      'codecarbon.emissions',
      'codecarbon.function',
      'codecarbon.project_name',
      'error.type',
      'event.dataset',
      'host.name',
      'log.level',
      'log.logger',
      'message',
    ]);
    for (const f of used) expect(fields.has(f), f).toBe(true);
  });

  it('the import script targets the configured environment', () => {
    const r = spawnSync('bash', ['deploy/kibana/import.sh', '--print'], { env: { ...process.env, TTA_ENV: 'prod' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"title": "tta-prod-carbon-*"');
    expect(r.stdout).not.toContain('tta-staging-carbon-*');
    const bad = spawnSync('bash', ['deploy/kibana/import.sh', '--print'], { env: { ...process.env, TTA_ENV: 'Prod!' }, encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
