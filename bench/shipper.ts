import { join } from 'node:path';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { record } from './lib/report.js';
import { runShipper, writeLines } from './lib/shipper-run.js';

// npm run bench:shipper [-- --mb 512]
// The shipper process alone, file to Redis with offsets committed, on a realistic
// carbon.log of the given size (see lib/shipper-run.ts for how it is timed).

const MB = Number(process.argv[process.argv.indexOf('--mb') + 1]) || 512;
const services = servicesEnv();
await servicesUp(services, () => undefined);

function* corpus(): Generator<string> {
  let written = 0;
  for (const rec of carbonLogRecords(Number.MAX_SAFE_INTEGER, 7)) {
    yield rec;
    written += Buffer.byteLength(rec) + 1;
    if (written >= MB * 1024 * 1024) return;
  }
}

const r = await runShipper(join(services.dir, 'bench-shipper'), services.redisUrl, (dir) => writeLines(join(dir, 'carbon.log'), corpus()));

await record(
  'Shipper: carbon.log to Redis',
  `\`npm run bench:shipper -- --mb ${MB}\`: a ${(r.bytes / 2 ** 20).toFixed(0)} MiB realistic carbon.log (${r.lines.toLocaleString('en-US')} lines; logging text, JSON lines, 5 % five-line tracebacks) ` +
    `moved into the log directory of an idle \`tta-carbon shipper\` process (default settings: 1 MiB batches; NODE_OPTIONS \`${r.nodeOptions}\` as in the systemd unit) and shipped into a local Redis (AOF on); ` +
    `timed from the move until the registry holds the file's size. CPU seconds and peak RSS are the shipper process's own (/proc); ` +
    `start-up CPU (module loading, connecting) is counted apart, as the time a C shipper's start would take is not in its per-line figure either.`,
  [
    {
      'size MiB': r.bytes / 2 ** 20,
      lines: r.lines,
      jobs: r.jobs,
      seconds: r.seconds,
      'lines/s': r.lines / r.seconds,
      'MB/s': r.bytes / 1e6 / r.seconds,
      'start-up CPU s': r.startupCpuSec,
      'shipping CPU s': r.shippingCpuSec,
      'lines per CPU-s': r.lines / r.shippingCpuSec,
      'peak RSS MB': r.peakRssMb,
    },
  ],
);
