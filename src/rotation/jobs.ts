import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../common/config/index.js';
import type { Logger } from '../common/logging/logger.js';
import type { Metrics } from '../common/metrics/metrics.js';
import type { Clock } from '../common/time/clock.js';
import { retentionPolicy, runIndexRetention } from './index-retention.js';
import { Rotator } from './rotator.js';

export interface MaintenanceJobDeps {
  elasticsearch: Client;
  logger: Logger;
  now: Clock;
  metrics?: Metrics;
}

/**
 * What the scheduler runs: this host's file rotation and the cluster's index retention.
 * A run that ends with errors throws, so BullMQ records it as failed (and the metrics
 * and logs say why); what it did is logged either way.
 */
export function maintenanceJobs(config: Config, deps: MaintenanceJobDeps) {
  const { logger, metrics } = deps;
  return {
    async rotate() {
      metrics?.rotationRuns.inc();
      const r = await new Rotator(config, { now: () => new Date(deps.now()), logger }).run();
      if (r.errors.length > 0) metrics?.rotationFailures.inc();
      logger.info(
        {
          rotated: r.rotated,
          compressed: r.compressed.length,
          deleted: r.deleted.length,
          left: r.skipped.filter((x) => x.reason !== 'not due'),
          errors: r.errors,
        },
        'rotation run',
      );
      if (r.errors.length > 0) throw new Error(`rotation finished with ${r.errors.length} error(s): ${r.errors.map((e) => e.reason).join('; ')}`);
      return { rotated: r.rotated.length };
    },
    async retention() {
      const r = await runIndexRetention(deps.elasticsearch, retentionPolicy(config), { now: new Date(deps.now()), dryRun: false });
      logger.info({ deleted: r.deleted, kept: r.keep.length }, 'index retention run');
      metrics?.lastRetention.set(deps.now() / 1000);
      return { deleted: r.deleted.length };
    },
  };
}
