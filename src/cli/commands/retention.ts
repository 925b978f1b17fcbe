import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import { runIndexRetention } from '../../rotation/index-retention.js';

/** `tta-carbon retention [--dry-run]`: prints every index it deletes or would delete. */
export async function retentionCommand(config: Config, dryRun: boolean): Promise<number> {
  const client = createElasticsearch(config.elasticsearch);
  try {
    const result = await runIndexRetention(
      client,
      { indexPrefix: config.elasticsearch.indexPrefix, retentionDays: config.retentionDays, deadLetterRetentionDays: config.deadLetterRetentionDays },
      {
        now: new Date(),
        dryRun,
        onProgress: (done, total) => console.error(`deleted ${done}/${total}`),
      },
    );
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
