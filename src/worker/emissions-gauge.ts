import type { Client } from '@elastic/elasticsearch';
import type { Gauge } from 'prom-client';
import { emissionsByProject, hourlyByProject } from '../common/emissions/queries.js';
import { HISTORY_HOURS, HOUR_MS, judgeHour } from '../common/emissions/unusual.js';
import type { Logger } from '../common/logging/logger.js';

// The emissions gauges, read back from Elasticsearch rather than summed from what this
// worker happened to index: every worker reports the same figures, a restart loses
// nothing, and a run flushed three times counts once (its newest version).
// - carbon_emissions_kg{project}: kg CO2eq of the last 24 hours of runs. The guide's
//   rule `carbon_emissions_kg > 1.0 for 5m` then means what it says: "emissions exceeded
//   1 kg CO2eq" in a day.
// - carbon_emissions_last_hour_kg, ..._usual_hour_kg and ..._unusual_ratio{project}:
//   the last 60 minutes against the project's usual hour (common/emissions/unusual.ts);
//   the ratio is absent while a project has too little history to judge.

export const EMISSIONS_WINDOW_MS = 24 * HOUR_MS;
const SEARCHABLE_AFTER_MS = 1_500;

export interface EmissionsGauges {
  emissionsKg: Gauge<'project'>;
  lastHourKg: Gauge<'project'>;
  usualHourKg: Gauge<'project'>;
  unusualRatio: Gauge<'project'>;
}

export interface EmissionsGaugeDeps {
  client: Client;
  indexPrefix: string;
  gauges: EmissionsGauges;
  logger: Logger;
  now: () => Date;
  intervalMs: number;
}

export class EmissionsGauge {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private again = false;
  private soon: NodeJS.Timeout | null = null;

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
    if (this.soon) clearTimeout(this.soon);
  }

  /** Runs were just indexed: read the figures again once they are searchable. */
  refreshSoon(): void {
    if (this.soon || this.stopped) return;
    // Indexed documents are searchable after Elasticsearch's next refresh (every second by default).
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.refresh();
    }, SEARCHABLE_AFTER_MS).unref();
  }

  /** One read at a time; a call during a read makes one more after it. */
  async refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.read().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  private async read(): Promise<void> {
    const { client, indexPrefix, gauges, logger } = this.deps;
    const now = this.deps.now();
    try {
      const day = await emissionsByProject(client, indexPrefix, now, EMISSIONS_WINDOW_MS);
      const hourly = await hourlyByProject(client, indexPrefix, new Date(now.getTime() - (HISTORY_HOURS + 1) * HOUR_MS), now);
      for (const g of Object.values(gauges)) g.reset();
      for (const [project, kg] of day) gauges.emissionsKg.set({ project }, kg);
      for (const [project, hours] of hourly) {
        const judged = judgeHour(hours.at(-1)!, hours.slice(0, -1));
        gauges.lastHourKg.set({ project }, judged.kg);
        if (judged.usualKg === null) continue;
        gauges.usualHourKg.set({ project }, judged.usualKg);
        gauges.unusualRatio.set({ project }, judged.ratio!);
      }
    } catch (err) {
      // The figures stay as they were: Elasticsearch being away is reported elsewhere.
      logger.warn({ err: (err as Error).message }, 'cannot read the indexed emissions for the carbon_emissions_* gauges; trying again later');
    }
  }
}
