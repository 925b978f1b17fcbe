import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { servicesEnv, servicesUp } from '../src/services/launcher.js';
import { followedLog, removeFollowedLog, runEnv } from './lib/followed-log.js';
import { record } from './lib/report.js';

// npm run bench:recovery [-- --rounds 10 --rate 1000 --up 4]
// Crash recovery: `tta-carbon run` (shipper + worker, default settings) follows a
// carbon.log written at a steady rate; every `--up` seconds it is killed with -9 and
// started again at once. Recovery = from the restart until every line written before
// the kill is searchable (no forced refresh: Elasticsearch's 1 s refresh applies;
// searched every 100 ms). The writer never pauses.

const arg = (name: string, dflt: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const ROUNDS = arg('--rounds', 10);
const RATE = arg('--rate', 1000);
const UP_S = arg('--up', 4);
const services = servicesEnv();
await servicesUp(services, () => undefined);
const followed = await followedLog(services.dir, 'recovery');
const { logFile, prefix, configFile } = followed;
const childEnv = runEnv(followed, services);
const start = (): ChildProcess => spawn(process.execPath, ['bin/tta-carbon.js', '--config', configFile, 'run'], { env: childEnv, stdio: 'ignore' });
const es = new Client({ node: services.elasticsearchUrl });
const upTo = async (seq: number) =>
  (
    await es
      .count({ index: `${prefix}-2*`, ignore_unavailable: true, allow_no_indices: true, query: { range: { seq: { lte: seq } } } })
      .catch(() => ({ count: 0 }))
  ).count;

let next = 0;
let writing = true;
async function writer(): Promise<void> {
  const begun = Date.now();
  while (writing) {
    const due = Math.floor(((Date.now() - begun) / 1000) * RATE);
    let text = '';
    for (; next < due; next++) text += `{"timestamp":"${new Date().toISOString()}","level":"info","message":"recovery ${next}","seq":${next}}\n`;
    if (text) appendFileSync(logFile, text);
    await sleep(5);
  }
}

let child = start();
const writing$ = writer();
const seconds: number[] = [];
const held: number[] = [];
await sleep(UP_S * 1000);
for (let round = 0; round < ROUNDS; round++) {
  const last = next - 1;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  held.push(last + 1 - (await upTo(last)));
  const restarted = Date.now();
  child = start();
  while ((await upTo(last)) < last + 1) {
    if (Date.now() - restarted > 120_000) throw new Error(`round ${round}: lines up to ${last} not all searchable after 120 s`);
    await sleep(100);
  }
  seconds.push((Date.now() - restarted) / 1000);
  console.log(`round ${round + 1}: ${held.at(-1)} lines not yet searchable at the kill, all searchable ${seconds.at(-1)!.toFixed(2)} s after the restart`);
  await sleep(Math.max(0, UP_S * 1000 - (Date.now() - restarted)));
}
writing = false;
await writing$;
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
const sorted = [...seconds].sort((a, b) => a - b);
const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
await removeFollowedLog(followed, es, services.redisUrl);
await es.close();

await record(
  'Crash recovery: kill -9 of run, time until every earlier line is searchable',
  `\`npm run bench:recovery -- --rounds ${ROUNDS} --rate ${RATE} --up ${UP_S}\`: \`tta-carbon run\` (default settings) follows a carbon.log written at ${RATE} lines/s without pause; ` +
    `every ${UP_S} s it is killed with -9 and restarted at once. Recovery = restart until every line written before the kill is found by a search (every 100 ms, Elasticsearch's own 1 s refresh). ` +
    `With ${ROUNDS} rounds, p99 is the slowest round.`,
  [
    {
      rounds: ROUNDS,
      'lines unsearchable at the kill (median)': [...held].sort((a, b) => a - b)[Math.floor(held.length / 2)]!,
      'p50 s': q(0.5),
      'p90 s': q(0.9),
      'p99 s': q(0.99),
      'max s': sorted.at(-1)!,
    },
  ],
);
