import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { servicesEnv } from '../src/services/launcher.js';
import { procStats } from './lib/proc.js';
import { record, type Row } from './lib/report.js';

// `npm run bench:startup`: the package's size, and the CPU a process spends starting,
// side by side in one run: the checkout's `node bin/tta-carbon.js` on the machine's
// Node, the package's tree on its own Node 24, and the same with NODE_COMPILE_CACHE
// (cold: an empty cache, which the run fills; warm: the cache a previous start left)
// (issue #35: the compile cache is kept only if it helps). Runs the package's tree from
// build/package without installing it: the same files at another path.

const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 10);

const out = join('build', 'package');
execFileSync(process.execPath, ['tools/package.mjs', '--out', out], { stdio: 'inherit' });
const pkgVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const name = `tta-carbon_${pkgVersion}_amd64`;
const lib = join(out, name, 'usr/lib/tta-carbon');

interface Variant {
  label: string;
  argv: string[];
  env?: Record<string, string>;
  /** Before each run. */
  prepare?: () => void;
}

const cacheDir = mkdtempSync(join(tmpdir(), 'tta-compile-cache-'));
const variants: Variant[] = [
  { label: `checkout, Node ${process.versions.node}`, argv: [process.execPath, 'bin/tta-carbon.js'] },
  { label: 'package, Node 24', argv: [join(lib, 'node/bin/node'), join(lib, 'bin/tta-carbon.js')] },
  {
    label: 'package, Node 24, compile cache cold',
    argv: [join(lib, 'node/bin/node'), join(lib, 'bin/tta-carbon.js')],
    env: { NODE_COMPILE_CACHE: cacheDir },
    prepare: () => {
      rmSync(cacheDir, { recursive: true, force: true });
      mkdirSync(cacheDir);
    },
  },
  { label: 'package, Node 24, compile cache warm', argv: [join(lib, 'node/bin/node'), join(lib, 'bin/tta-carbon.js')], env: { NODE_COMPILE_CACHE: cacheDir } },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU-s of a command that exits by itself (the child's rusage, as time(1) reports it). */
function exitingCpu(v: Variant, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', ...v.argv, ...args], { encoding: 'utf8', env: { ...process.env, ...v.env } });
  const [u, s] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return u! + s!;
}

/** CPU-s of a worker from exec until it logs "worker started". */
async function workerCpu(v: Variant): Promise<number> {
  const s = servicesEnv();
  const child = spawn(v.argv[0]!, [...v.argv.slice(1), 'worker'], {
    env: { ...process.env, ...v.env, TTA_ENV: 'benchstartup', TTA_METRICS_PORT: '0', REDIS_URL: s.redisUrl, ELASTICSEARCH_URL: s.elasticsearchUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let outText = '';
  const cpu = await new Promise<number>((resolve, reject) => {
    const check = (d: Buffer) => {
      outText += d;
      if (outText.includes('worker started')) procStats(child.pid!).then((st) => resolve(st.cpuSec), reject);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', () => reject(new Error(`worker exited: ${outText}`)));
  });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return cpu;
}

const rows: Row[] = [];
for (const v of variants) {
  const version: number[] = [];
  const others: number[] = [];
  const worker: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    v.prepare?.();
    version.push(exitingCpu(v, ['--version']));
    v.prepare?.();
    others.push(exitingCpu(v, ['health', '--others']));
    v.prepare?.();
    worker.push(await workerCpu(v));
  }
  rows.push({
    runtime: v.label,
    '--version CPU-s': median(version),
    'health --others CPU-s': median(others),
    'worker to "started" CPU-s': median(worker),
  });
}
rmSync(cacheDir, { recursive: true, force: true });

const deb = statSync(join(out, `${name}.deb`)).size / 1e6;
const tgz = statSync(join(out, `${name}.tar.gz`)).size / 1e6;
const installed =
  Number(
    execFileSync('du', ['-sk', '--total', join(out, name, 'usr'), join(out, name, 'etc')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!
      .split('\t')[0],
  ) / 1024;
Number(
  execFileSync('du', ['-sk', join(out, name, 'usr'), join(out, name, 'etc')], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split('\t')[0]))
    .reduce((a, b) => a + b, 0),
) / 1024;
await record(
  'Start-up CPU and package size (issue #35)',
  `Median of ${RUNS} runs each. .deb ${deb.toFixed(1)} MB (xz), .tar.gz ${tgz.toFixed(1)} MB, installed ${installed.toFixed(0)} MiB (Node 24 stripped, the bundle, the modules it loads at run time). CPU-s is user + system of the process: to its exit for --version and health --others, to its "worker started" log line for a worker (Redis and Elasticsearch on loopback).`,
  rows,
);
