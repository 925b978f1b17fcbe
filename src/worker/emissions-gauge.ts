import type { Client } from '@elastic/elasticsearch';
import type { Gauge } from 'prom-client';
import type { Logger } from '../common/logging/logger.js';

// carbon_emissions_kg{project}: kg CO2eq of the codecarbon runs of the last 24 hours,
// per project, as indexed. It is read back from Elasticsearch, not summed from what
// this worker happened to index, so every worker reports the same figure, a restart
// loses nothing, and a run flushed three times counts once (its newest version). The
// guide's rule `carbon_emissions_kg > 1.0 for 5m` then means what it says: "emissions
// exceeded 1 kg CO2eq" in a day.

export const EMISSIONS_WINDOW_MS = 24 * 3_600_000;

export interface EmissionsGaugeDeps {
  client: Client;
  indexPrefix: string;
  gauge: Gauge<'project'>;
  logger: Logger;
  now: () => Date;
  intervalMs: number;
}

/** Sum of run emissions per project in (now - window, now]. */
export async function emissionsByProject(client: Client, indexPrefix: string, now: Date, windowMs = EMISSIONS_WINDOW_MS): Promise<Map<string, number>> {
  const res = await client.search({
    index: `${indexPrefix}-2*`,
    size: 0,
    ignore_unavailable: true,
    allow_no_indices: true,
    query: { bool: { filter: [{ term: { 'event.dataset': 'codecarbon.run' } }, { range: { '@timestamp': { gt: new Date(now.getTime() - windowMs).toISOString(), lte: now.toISOString() } } }] } },
    aggs: { projects: { terms: { field: 'codecarbon.project_name', size: 1000 }, aggs: { kg: { sum: { field: 'codecarbon.emissions' } } } } },
  });
  const buckets = ((res.aggregations?.projects as { buckets?: { key: string; kg: { value: number } }[] } | undefined)?.buckets ?? []);
  return new Map(buckets.map((b) => [String(b.key), b.kg.value]));
}

export class EmissionsGauge {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: EmissionsGaugeDeps) {}

  start(): void {
    const tick = async () => {
      await this.refresh();
      if (!this.stopped) this.timer = setTimeout(tick, this.deps.intervalMs).unref();
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      const kg = await emissionsByProject(this.deps.client, this.deps.indexPrefix, this.deps.now());
      this.deps.gauge.reset();
      for (const [project, value] of kg) this.deps.gauge.set({ project }, value);
    } catch (err) {
      // The figure stays as it was: Elasticsearch being away is reported elsewhere.
      this.deps.logger.warn({ err: (err as Error).message }, 'cannot read the last day of emissions for carbon_emissions_kg; trying again later');
    }
  }
}
