import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import type { Logger } from '../../common/logging/logger.js';
import { progress } from '../../common/logging/progress.js';
import { retentionPolicy, runIndexRetention } from '../../rotation/index-retention.js';

/** `tta-carbon retention [--dry-run]`: prints every index it deletes or would delete. */
export async function retentionCommand(config: Config, logger: Logger, dryRun: boolean): Promise<number> {
  const client = await createElasticsearch(config.elasticsearch);
  const bar = progress('deleting expired indices', logger);
  try {
    const result = await runIndexRetention(client, retentionPolicy(config), {
      now: new Date(),
      dryRun,
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.finish();
    for (const name of result.delete) console.log(`${dryRun ? 'would delete' : 'deleted'} ${name}`);
    console.log(
      `${dryRun ? 'dry run: ' : ''}${result.delete.length} index(es) ${dryRun ? 'to delete' : 'deleted'}, ${result.keep.length} kept` +
        ` (retention ${config.retentionDays} days, dead letters ${config.deadLetterRetentionDays} days)`,
    );
    return 0;
  } catch (err) {
    console.error(`tta-carbon retention: ${(err as Error).message}`);
    return 1;
  } finally {
    await client.close();
  }
}
