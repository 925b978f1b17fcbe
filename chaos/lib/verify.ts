import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@elastic/elasticsearch';
import { MARKER, REPORT_FUNCTIONS, type PlannedEvent } from './plan.js';

// The checks, against what arrived and what is on disk; each returns counts and the
// first few problems so a failure says exactly what went wrong.

export interface Arrived {
  /** Document key (seq, or seq/part for reports) → number of documents. */
  docs: Map<string, number>;
  deadLetters: Map<number, { type: string; reason: string }[]>;
  problems: string[];
  secretsFound: string[];
  total: number;
}

const keyOf = (seq: number, part = '') => (part ? `${seq}/${part}` : String(seq));

/** Every document the event should produce, by key. */
export function expectedKeys(events: PlannedEvent[]): Set<string> {
  const keys = new Set<string>();
  for (const e of events) {
    if (e.poison) continue;
    if (e.kind === 'report') {
      keys.add(keyOf(e.seq, 'summary'));
      for (const f of REPORT_FUNCTIONS) keys.add(keyOf(e.seq, f));
    } else keys.add(keyOf(e.seq));
  }
  return keys;
}

/** Reads every document under the prefix once (scroll), checking each as it goes. */
export async function collect(es: Client, prefix: string, events: Map<number, PlannedEvent>, secrets: string[]): Promise<Arrived> {
  const out: Arrived = { docs: new Map(), deadLetters: new Map(), problems: [], secretsFound: [], total: 0 };
  const problem = (p: string) => out.problems.length < 20 && out.problems.push(p);
  await es.indices.refresh({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true });
  let page = await es.search({ index: `${prefix}-*`, scroll: '2m', size: 5000, query: { match_all: {} } });
  while (page.hits.hits.length > 0) {
    for (const hit of page.hits.hits) {
      out.total++;
      const raw = JSON.stringify(hit._source);
      for (const s of secrets) if (raw.includes(s)) out.secretsFound.push(`${s} in ${hit._index}/${hit._id}`);
      const src = hit._source as Record<string, any>;
      if (hit._index.includes('-deadletter-')) {
        const seq = Number(MARKER.exec(String(src.document))?.[1]);
        const list = out.deadLetters.get(seq) ?? [];
        list.push({ type: src.error?.type, reason: src.error?.message });
        out.deadLetters.set(seq, list);
        continue;
      }
      const m = MARKER.exec(raw);
      if (!m) {
        problem(`document without a marker: ${hit._index}/${hit._id} ${raw.slice(0, 200)}`);
        continue;
      }
      const seq = Number(m[1]);
      const e = events.get(seq);
      if (!e) {
        problem(`document for an event never written: ${seq}`);
        continue;
      }
      const key = checkContent(e, src, problem);
      out.docs.set(key, (out.docs.get(key) ?? 0) + 1);
    }
    page = await es.scroll({ scroll_id: page._scroll_id!, scroll: '2m' });
  }
  if (page._scroll_id) await es.clearScroll({ scroll_id: page._scroll_id }).catch(() => undefined);
  return out;
}

/** The document's content against the plan; returns its key. */
function checkContent(e: PlannedEvent, src: Record<string, any>, problem: (p: string) => void): string {
  const dataset = src.event?.dataset;
  if (e.kind === 'report') {
    if (dataset === 'codecarbon.report') {
      if (src.codecarbon?.total_emissions !== 0.001 + e.seq / 1e9) problem(`report ${e.seq}: total_emissions ${src.codecarbon?.total_emissions}`);
      return keyOf(e.seq, 'summary');
    }
    const fn = String(src.codecarbon?.function);
    if (!REPORT_FUNCTIONS.includes(fn)) problem(`report ${e.seq}: unexpected function document ${fn}`);
    return keyOf(e.seq, fn);
  }
  if (e.kind === 'csv') {
    if (dataset !== 'codecarbon.run' || src.codecarbon?.source !== 'csv' || src.codecarbon?.emissions !== 0.000123)
      problem(`csv ${e.seq}: ${JSON.stringify(src.codecarbon)}`);
    return keyOf(e.seq);
  }
  const x = e.expect!;
  if (dataset !== 'carbon.log' || !String(src.message).includes(x.message))
    problem(`log ${e.seq}: message ${JSON.stringify(src.message)}, expected ${x.message}`);
  if (String(src.log?.level).toLowerCase() !== x.level) problem(`log ${e.seq}: level ${src.log?.level}, expected ${x.level}`);
  if (x.seq !== undefined && src.seq !== x.seq) problem(`log ${e.seq}: seq field ${src.seq}`);
  if (x.traceback && !JSON.stringify(src).includes(`ValueError: bad step evt#${e.seq}#`)) problem(`log ${e.seq}: traceback not kept with its record`);
  return keyOf(e.seq);
}

/** Searches Elasticsearch itself for a sample of the secrets, as a person in Kibana would. */
export async function secretsSearchable(es: Client, prefix: string, secrets: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const s of secrets.slice(0, 50)) {
    const r = await es.search({ index: `${prefix}-*`, size: 1, query: { query_string: { query: `"${s}"`, default_field: '*' } } });
    const hits = typeof r.hits.total === 'number' ? r.hits.total : (r.hits.total?.value ?? 0);
    if (hits > 0) found.push(s);
  }
  return found;
}

/**
 * carbon.log and every rotated copy (gzip or not), read back: each log event written
 * exactly once across them, and as many bytes as were written.
 */
export async function rotatedFilesAccount(logDir: string, events: PlannedEvent[], bytesWritten: number) {
  const names = (await readdir(logDir)).filter((n) => n.startsWith('carbon.log'));
  let bytes = 0;
  const seen = new Map<number, number>();
  for (const name of names) {
    let data = await readFile(join(logDir, name));
    if (name.endsWith('.gz')) data = gunzipSync(data);
    bytes += data.length;
    for (const m of data.toString('utf8').matchAll(/^(?:.*?)evt#(\d+)#/gm)) {
      // A traceback names its event on its first and last lines: count first lines only.
      if (/^(?:ValueError| {2})/.test(m[0])) continue;
      seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
  }
  const logEvents = events.filter((e) => e.kind === 'log');
  const missing = logEvents.filter((e) => !seen.has(e.seq)).map((e) => e.seq);
  const doubled = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
  return { files: names.length, bytes, bytesWritten, missing, doubled };
}
