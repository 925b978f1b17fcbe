import type { Client } from '@elastic/elasticsearch';

// Composable templates, installed (or updated in place) when a worker starts. The
// dead-letter template has the higher priority because its pattern is a subset of
// the main one: tta-<env>-carbon-deadletter-* also matches tta-<env>-carbon-*.

const keyword = { type: 'keyword', ignore_above: 1024 } as const;

export function eventTemplate(prefix: string) {
  return {
    name: prefix,
    index_patterns: [`${prefix}-*`],
    priority: 200,
    template: {
      settings: {
        'index.mapping.total_fields.limit': 2000,
        // Past the limit, new dynamic keys are kept in _source but not mapped,
        // instead of rejecting the event.
        'index.mapping.total_fields.ignore_dynamic_beyond_limit': true,
        'index.mapping.depth.limit': 20,
        'index.mapping.ignore_malformed': true,
      },
      mappings: {
        dynamic: true,
        dynamic_templates: [
          // A column a later codecarbon adds is a double too: the first run's `0` must
          // not map it as long (a later 1.8 would then aggregate as 1).
          { codecarbon_longs_as_doubles: { path_match: 'codecarbon.*', match_mapping_type: 'long', mapping: { type: 'double' } } },
          { codecarbon_doubles: { path_match: 'codecarbon.*', match_mapping_type: 'double', mapping: { type: 'double' } } },
          { strings_as_keywords: { match_mapping_type: 'string', mapping: keyword } },
        ],
        properties: {
          '@timestamp': { type: 'date' },
          message: { type: 'text' },
          environment: keyword,
          component: keyword,
          tags: keyword,
          host: { properties: { name: keyword } },
          log: {
            properties: {
              level: keyword,
              logger: keyword,
              offset: { type: 'long' },
              file: { properties: { path: keyword } },
            },
          },
          event: { properties: { dataset: keyword } },
          error: { properties: { type: keyword, message: { type: 'text' }, stack_trace: { type: 'text' } } },
          sanitizer: { properties: { redactions: { type: 'integer' } } },
          codecarbon: { properties: codecarbonProperties() },
          // JSON-line keys that clashed with ours: kept, searchable in _source, never mapped.
          json: { type: 'object', enabled: false },
        },
      },
    },
    _meta: { managed_by: 'tta-carbon' },
  };
}

// Numbers codecarbon writes (reports and emissions.csv columns), mapped up front so the
// first document cannot make them strings; other columns fall to keyword dynamically.
const CODECARBON_DOUBLES = [
  'emissions',
  'total_emissions',
  'duration',
  'emissions_rate',
  'cpu_power',
  'gpu_power',
  'ram_power',
  'cpu_energy',
  'gpu_energy',
  'ram_energy',
  'energy_consumed',
  'longitude',
  'latitude',
  'ram_total_size',
  'pue',
  'cpu_count',
  'gpu_count',
  'water_consumed',
  'cpu_utilization_percent',
  'gpu_utilization_percent',
  'ram_utilization_percent',
  'ram_used_gb',
  'wue',
];

function codecarbonProperties(): Record<string, unknown> {
  const props: Record<string, unknown> = {
    project_name: keyword,
    function: keyword,
    measurement: keyword,
    unit: keyword,
    run_id: keyword,
    source: keyword,
    experiment_id: keyword,
    report_timestamp: { type: 'date' },
    on_cloud: { type: 'boolean' },
  };
  for (const name of CODECARBON_DOUBLES) props[name] = { type: 'double' };
  return props;
}

export function deadLetterTemplate(prefix: string) {
  return {
    name: `${prefix}-deadletter`,
    index_patterns: [`${prefix}-deadletter-*`],
    priority: 300,
    template: {
      mappings: {
        dynamic: false,
        properties: {
          '@timestamp': { type: 'date' },
          environment: keyword,
          component: keyword,
          attempts: { type: 'integer' },
          target_index: keyword,
          document_id: keyword,
          error: { properties: { type: keyword, message: { type: 'text' } } },
          document: { type: 'text', index: false },
        },
      },
    },
    _meta: { managed_by: 'tta-carbon' },
  };
}

export async function installTemplates(client: Client, prefix: string): Promise<void> {
  for (const t of [eventTemplate(prefix), deadLetterTemplate(prefix)]) {
    await client.indices.putIndexTemplate(t as Parameters<Client['indices']['putIndexTemplate']>[0]);
  }
}
