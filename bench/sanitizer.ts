import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { carbonLogRecords } from './lib/corpus.js';
import { record, type Row } from './lib/report.js';

// npm run bench:sanitizer [-- --before <git rev>] [--docs N] [--rounds N]
// The sanitizer's own cost per document on realistic carbon.log records (text, JSON,
// tracebacks), this tree beside another revision's sanitizer in the same process and
// the same run (rounds interleaved, medians), so a change of rules is priced by what it
// costs, not by the day's machine noise.

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : fallback);
const DOCS = Number(arg('--docs', '100000'));
const ROUNDS = Number(arg('--rounds', '5'));
const BEFORE = arg('--before', '');

interface AnySanitizer {
  sanitizeDocument(doc: Record<string, unknown>): number;
}
type Make = () => AnySanitizer;

async function sanitizerOf(tree: string): Promise<Make> {
  const mod = (await import(pathToFileURL(resolve(tree, 'src/worker/sanitize/sanitizer.ts')).href)) as { Sanitizer: new (o: unknown) => AnySanitizer };
  return () => new mod.Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
}

/** A checkout of `rev` beside this one, sharing its node_modules. */
function worktree(rev: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = `/tmp/tta-carbon-bench-${sha}`;
  if (!existsSync(dir)) execFileSync('git', ['worktree', 'add', '--detach', dir, sha], { stdio: 'ignore' });
  if (!existsSync(`${dir}/node_modules`)) symlinkSync(resolve('node_modules'), `${dir}/node_modules`);
  return dir;
}

const texts = [...carbonLogRecords(DOCS)];
const documents = () => texts.map((message, i) => ({ message, log: { level: 'INFO', logger: 'src.components.carbon_component', offset: i } }));

function time(make: Make): { us: number; redactions: number } {
  const sanitizer = make();
  const docs = documents();
  let redactions = 0;
  const t = performance.now();
  for (const d of docs) redactions += sanitizer.sanitizeDocument(d);
  return { us: ((performance.now() - t) * 1000) / docs.length, redactions };
}

const trees: [string, Make][] = [['this tree', await sanitizerOf('.')]];
const other = BEFORE ? worktree(BEFORE) : '';
if (BEFORE) trees.unshift([`${BEFORE} (${execFileSync('git', ['rev-parse', '--short', BEFORE], { encoding: 'utf8' }).trim()})`, await sanitizerOf(other)]);

const samples = new Map<string, number[]>(trees.map(([name]) => [name, []]));
const redacted = new Map<string, number>();
for (const [, make] of trees) time(make); // warm the JIT and the key caches of each
for (let r = 0; r < ROUNDS; r++)
  for (const [name, make] of trees) {
    const { us, redactions } = time(make);
    samples.get(name)!.push(us);
    redacted.set(name, redactions);
  }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Row[] = trees.map(([name]) => {
  const xs = samples.get(name)!;
  return {
    sanitizer: name,
    docs: DOCS,
    rounds: ROUNDS,
    'median µs/doc': Number(median(xs).toFixed(2)),
    'min µs/doc': Number(Math.min(...xs).toFixed(2)),
    'max µs/doc': Number(Math.max(...xs).toFixed(2)),
    redactions: redacted.get(name)!,
  };
});
await record(
  'Sanitizer cost per document',
  `\`npm run bench:sanitizer -- ${process.argv.slice(2).join(' ')}\`: ${DOCS.toLocaleString('en-US')} realistic carbon.log records (text, JSON, tracebacks) as documents with a message and log fields, sanitized in memory by each revision's Sanitizer in one process; ${ROUNDS} interleaved rounds after one warm-up each.`,
  rows,
);
if (other) execFileSync('git', ['worktree', 'remove', '--force', other], { stdio: 'ignore' });
