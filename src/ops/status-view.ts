import type { Snapshot } from './status.js';

// `tta-carbon status` as text: what each part is doing now and how fast, from the
// snapshots read so far (status.ts), newest last. Fits 80 columns: paths are cut from
// the left, where they are alike. Rates are over the last few seconds; dead letters
// and enqueue failures over the last minute.

const RATE_WINDOW_MS = 5000;
const MINUTE_MS = 60_000;
// The newest few: the view fits 24 rows with a file, two workers and these.
const WARNINGS_SHOWN = 3;

export interface ViewContext {
  environment: string;
  queue: string;
  width: number;
  /** The time zone's clock for the header (the operator's). */
  clock: (ms: number) => string;
}

/** The oldest snapshot at most `ms` older than the newest, other than the newest. */
function before(history: Snapshot[], ms: number): Snapshot | undefined {
  const newest = history.at(-1)!;
  return history.find((s) => s !== newest && newest.at - s.at <= ms);
}

function perSecond(now: number | null | undefined, then: number | null | undefined, dtMs: number): number | null {
  if (now == null || then == null || dtMs <= 0) return null;
  return Math.max(0, ((now - then) * 1000) / dtMs);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (r: number | null, unit = '/s') => (r === null ? '-' : `${r >= 100 ? num(r) : r.toFixed(1)}${unit}`);

function cutLeft(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `…${text.slice(text.length - width + 1)}`;
}

export function renderStatus(history: Snapshot[], ctx: ViewContext): string {
  const now = history.at(-1);
  if (!now) return 'reading…';
  const w = Math.max(80, ctx.width);
  const recent = before(history, RATE_WINDOW_MS);
  const minute = before(history, MINUTE_MS);
  const dt = recent ? now.at - recent.at : 0;
  const lines: string[] = [];
  lines.push(`tta-carbon status  env ${ctx.environment}  queue ${ctx.queue}  ${ctx.clock(now.at)}`);
  lines.push('');
  const sh = now.shipper;
  const lineRate = perSecond(sh?.linesRead, recent?.shipper?.linesRead, dt);
  lines.push(
    sh?.reachable
      ? `SHIPPER (this host)  ${rate(lineRate, ' lines/s')}${sh.paused ? '  PAUSED (queue backlog)' : ''}  enqueue failures last minute: ${num((sh.enqueueFailures ?? 0) - (minute?.shipper?.enqueueFailures ?? sh.enqueueFailures))}`
      : `SHIPPER (this host)  not answering at ${sh?.url ?? '?'}`,
  );
  if (now.files.length > 0) {
    const pathWidth = w - 40;
    lines.push(`  ${'file'.padEnd(pathWidth)} ${'offset'.padStart(10)} ${'unshipped'.padStart(10)} ${'rate'.padStart(12)}`);
    for (const f of now.files) {
      const prev = recent?.files.find((p) => p.path === f.path);
      const r = perSecond(f.size - f.unshipped, prev ? prev.size - prev.unshipped : null, dt);
      lines.push(
        `  ${cutLeft(f.path, pathWidth)} ${bytes(f.size - f.unshipped).padStart(10)} ${bytes(f.unshipped).padStart(10)} ${(r === null ? '-' : `${bytes(r)}/s`).padStart(12)}`,
      );
    }
  }
  lines.push('');
  const q = now.queue;
  lines.push(q ? `QUEUE  waiting ${num(q.waiting)}  active ${num(q.active)}  delayed ${num(q.delayed)}  failed ${num(q.failed)}` : 'QUEUE  not readable');
  const alive = now.workers.filter((x) => x.alive);
  lines.push(`WORKERS  ${alive.length} alive${now.workers.length > alive.length ? `, ${now.workers.length - alive.length} gone (awaiting the reaper)` : ''}`);
  for (const x of now.workers)
    lines.push(
      `  ${cutLeft(x.host, 20)} ${cutLeft(x.name, w - 52)} ${String(x.active).padStart(3)} batches  ${x.alive ? 'alive' : 'GONE '} since ${x.started.slice(11, 19)}`,
    );
  lines.push('');
  const docRate = perSecond(now.indexed, recent?.indexed, dt);
  const deadMinute = now.deadLetters != null && minute?.deadLetters != null ? now.deadLetters - minute.deadLetters : null;
  lines.push(
    now.indexed === null
      ? 'INDEXED  not readable'
      : `INDEXED  ${num(now.indexed)} documents  ${rate(docRate, ' docs/s')}   DEAD LETTERS ${num(now.deadLetters ?? 0)} (${deadMinute === null ? '-' : `+${num(deadMinute)}`} last minute)`,
  );
  if (now.warnings.length > 0) {
    lines.push('');
    lines.push('LATEST WARNINGS (this host)');
    const cut = (t: string) => (t.length > w - 2 ? `${t.slice(0, w - 3)}…` : t);
    for (const x of now.warnings.slice(-WARNINGS_SHOWN))
      lines.push(cut(`  ${ctx.clock(Date.parse(x.time)).slice(-8)} ${x.level.toUpperCase()} ${x.role ? `[${x.role}] ` : ''}${x.msg}`));
  }
  if (now.problems.length > 0) {
    lines.push('');
    lines.push('PROBLEMS');
    for (const p of now.problems) lines.push(`  ${p.length > w - 2 ? `${p.slice(0, w - 3)}…` : p}`);
  }
  return lines.map((l) => (l.length > w ? l.slice(0, w) : l.trimEnd())).join('\n');
}
