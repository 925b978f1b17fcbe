import type { Config } from '../../common/config/index.js';
import { FilebeatRegistryError } from '../../cutover/filebeat-registry.js';
import { FilebeatRunningError, importFilebeat } from '../../cutover/import-filebeat.js';

/** `tta-carbon import filebeat [--registry DIR] [--dry-run]`: each file Filebeat read, and what became of it. */
export async function importFilebeatCommand(config: Config, opts: { registry: string; dryRun?: boolean }): Promise<number> {
  try {
    const report = await importFilebeat(opts.registry, config.dataDir, { dryRun: opts.dryRun });
    const verb = opts.dryRun ? 'would resume' : 'resumes';
    for (const i of report.imported) console.log(`${verb} ${i.path} at byte ${i.offset} of ${i.size} (Filebeat's offset)`);
    for (const s of report.skipped) console.log(`skipped ${s.path}: ${s.reason}`);
    console.log(
      `${opts.dryRun ? 'dry run: ' : ''}${report.imported.length} file(s) imported from ${opts.registry} into ${config.dataDir}, ${report.skipped.length} skipped; ` +
        'files Filebeat never read are shipped from their start. Start tta-carbon now; remove Filebeat once it ships.',
    );
    return 0;
  } catch (err) {
    if (err instanceof FilebeatRunningError || err instanceof FilebeatRegistryError) {
      console.error(`tta-carbon import filebeat: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
