import { writeFile } from 'node:fs/promises';
import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import { chartSvg, emissionsReport, formatReport, parseSince, type GroupBy } from '../../ops/report.js';

export async function reportCommand(config: Config, opts: { since: string; by: string; chart?: string }): Promise<number> {
  if (!['day', 'function', 'project'].includes(opts.by)) {
    console.error(`tta-carbon report: --by ${JSON.stringify(opts.by)}: expected day, function or project`);
    return 2;
  }
  let sinceMs: number;
  try {
    sinceMs = parseSince(opts.since);
  } catch (err) {
    console.error(`tta-carbon report: ${(err as Error).message}`);
    return 2;
  }
  const client = await createElasticsearch(config.elasticsearch);
  try {
    const rows = await emissionsReport(client, config.elasticsearch.indexPrefix, sinceMs, opts.by as GroupBy);
    console.log(formatReport(rows, opts.by as GroupBy));
    if (opts.chart) {
      const days = opts.by === 'day' ? rows : await emissionsReport(client, config.elasticsearch.indexPrefix, sinceMs, 'day');
      await writeFile(opts.chart, chartSvg(days, `${config.environment}: emissions per day, last ${opts.since}`));
      console.log(`chart written to ${opts.chart}`);
    }
    return 0;
  } catch (err) {
    console.error(`tta-carbon report: ${(err as Error).message}`);
    return 1;
  } finally {
    await client.close();
  }
}
