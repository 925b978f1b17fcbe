import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';

// Prints a table and records it in BENCHMARKS.md with the machine, versions and date.

export type Row = Record<string, string | number>;

export function table(rows: Row[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const cell = (v: string | number) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : v);
  const lines = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${cols.map((c) => cell(r[c] ?? '')).join(' | ')} |`);
  return lines.join('\n');
}

export async function machine(): Promise<string> {
  const pkg = JSON.parse(await readFile('node_modules/@elastic/elasticsearch/package.json', 'utf8'));
  const bullmq = JSON.parse(await readFile('node_modules/bullmq/package.json', 'utf8'));
  const cpu = cpus();
  return (
    `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
    `Elasticsearch 9.4.3 (integ-test zip, 512 MiB heap, 1 node) with client ${pkg.version}; BullMQ ${bullmq.version}`
  );
}

export async function record(title: string, notes: string, rows: Row[]): Promise<void> {
  const text = table(rows);
  console.log(`\n${title}\n\n${text}\n`);
  const header = `\n## ${title} (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)\n\nMachine: ${await machine()}\n\n${notes}\n\n${text}\n`;
  try {
    await appendFile('BENCHMARKS.md', header);
  } catch {
    await writeFile('BENCHMARKS.md', `# Benchmarks\n${header}`);
  }
}

/** NODE_OPTIONS of a shipped systemd unit: benchmarks run the processes as operators do. */
export async function unitNodeOptions(unit: string): Promise<string> {
  const text = await readFile(`deploy/systemd/${unit}`, 'utf8');
  return /^Environment=NODE_OPTIONS=(.*)$/m.exec(text)?.[1] ?? '';
}
