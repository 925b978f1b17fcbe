import { writeFile } from 'node:fs/promises';
import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import { ianaZone } from '../../common/time/zoned.js';
import { GROUPS, emissionsReport, formatReport, parseSince, type GroupBy } from '../../ops/report.js';
import { chartPng, chartSvg } from '../../ops/report-chart.js';

export async function reportCommand(config: Config, opts: { since: string; by: string; chart?: string; json?: boolean }): Promise<number> {
  if (!(GROUPS as readonly string[]).includes(opts.by)) {
    console.error(`tta-carbon report: --by ${JSON.stringify(opts.by)}: expected ${GROUPS.join(', ')}`);
    return 2;
  }
  if (opts.chart && !/\.svg$/i.test(opts.chart)) {
    console.error(`tta-carbon report: --chart ${JSON.stringify(opts.chart)}: expected a file name ending in .svg (the PNG is written beside it)`);
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
    // Days are the operator's days: the configured zone's, as codecarbon's timestamps are.
    const where = { timeZone: ianaZone(config.timeZone) };
    const report = await emissionsReport(client, config.elasticsearch.indexPrefix, sinceMs, opts.by as GroupBy, where);
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
    if (opts.chart) {
      const days = opts.by === 'day' ? report : await emissionsReport(client, config.elasticsearch.indexPrefix, sinceMs, 'day', where);
      const svg = chartSvg(days.rows, `${config.environment}: codecarbon emissions per day, last ${opts.since}`);
      const png = opts.chart.replace(/\.svg$/i, '.png');
      await writeFile(opts.chart, svg);
      await writeFile(png, chartPng(svg));
      if (!opts.json) console.log(`chart written to ${opts.chart} and ${png}`);
    }
    return 0;
  } catch (err) {
    console.error(`tta-carbon report: ${(err as Error).message}`);
    return 1;
  } finally {
    await client.close();
  }
}
