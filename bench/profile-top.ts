import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// npm run bench:profile-top -- DIR [--top 25]: the functions with the most self time in
// the V8 CPU profiles of a `bench:pipeline -- --profile DIR` run, per process, as a table
// (where a target is missed, the profile that shows why).

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: bench:profile-top -- DIR [--top N]');
const top = process.argv.includes('--top') ? Number(process.argv[process.argv.indexOf('--top') + 1]) : 25;

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (const [i, id] of p.samples.entries()) {
    const n = byId.get(id)!;
    const dt = p.timeDeltas[i] ?? 0;
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules|src|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(1)} s busy\n`);
  console.log('| function | self ms | % of busy |\n|---|---|---|');
  for (const [k, v] of [...self]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`| ${k.replace(/\|/g, '\\|')} | ${(v / 1000).toFixed(0)} | ${((v / (total - idle)) * 100).toFixed(1)} |`);
  }
}
