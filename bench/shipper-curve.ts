import { join } from 'node:path';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { carbonLogRecords } from './lib/corpus.js';
import { record, type Row } from './lib/report.js';
import { runShipper, writeLines, type ShipperRun } from './lib/shipper-run.js';

// npm run bench:shipper-curve [-- --mb 128]
// How the shipper's cost grows: the same bytes spread over 1, 10 and 100 tailed files
// (the realistic corpus), and lines of 50, 500 and 5,000 bytes (one file).

const MB = Number(process.argv[process.argv.indexOf('--mb') + 1]) || 128;
const services = servicesEnv();
await servicesUp(services, () => undefined);
const work = join(services.dir, 'bench-shipper-curve');

function* realistic(bytes: number, seed: number): Generator<string> {
  let written = 0;
  for (const rec of carbonLogRecords(Number.MAX_SAFE_INTEGER, seed)) {
    yield rec;
    written += Buffer.byteLength(rec) + 1;
    if (written >= bytes) return;
  }
}

function* sized(bytes: number, lineBytes: number): Generator<string> {
  const filler = 'x'.repeat(Math.max(0, lineBytes - 40));
  for (let i = 0, written = 0; written < bytes; i++) {
    const line = `INFO:bench.size:line ${String(i).padStart(10, '0')} ${filler}`;
    written += line.length + 1;
    yield line;
  }
}

const row = (label: string, r: ShipperRun): Row => ({
  case: label,
  files: '',
  lines: r.lines,
  MiB: r.bytes / 2 ** 20,
  seconds: r.seconds,
  'lines/s': r.lines / r.seconds,
  'MB/s': r.bytes / 1e6 / r.seconds,
  'shipping CPU s': r.shippingCpuSec,
  'lines per CPU-s': r.lines / r.shippingCpuSec,
  'CPU-s per GiB': (r.shippingCpuSec / r.bytes) * 2 ** 30,
  'peak RSS MB': r.peakRssMb,
});

const rows: Row[] = [];
for (const files of [1, 10, 100]) {
  const r = await runShipper(work, services.redisUrl, async (dir) => {
    let lines = 0;
    for (let f = 0; f < files; f++) lines += await writeLines(join(dir, `carbon-${f}.log`), realistic((MB * 2 ** 20) / files, f + 1));
    return lines;
  });
  rows.push({ ...row(`${files} file${files > 1 ? 's' : ''}, realistic lines`, r), files });
}
for (const lineBytes of [50, 500, 5000]) {
  const r = await runShipper(work, services.redisUrl, (dir) => writeLines(join(dir, 'carbon.log'), sized(MB * 2 ** 20, lineBytes)));
  rows.push({ ...row(`lines of ${lineBytes} bytes`, r), files: 1 });
}

await record(
  'Shipper cost curve: files tailed and line size',
  `\`npm run bench:shipper-curve -- --mb ${MB}\`: ${MB} MiB each time, shipped by an idle \`tta-carbon shipper\` (as in bench:shipper) into Redis: ` +
    `first the realistic corpus spread over 1, 10 and 100 files (one glob), then one file of synthetic lines of 50, 500 and 5,000 bytes.`,
  rows,
);
