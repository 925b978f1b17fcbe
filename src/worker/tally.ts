import type { Metrics } from '../common/metrics/metrics.js';
import type { Document } from './decode/document.js';

// What the worker's metrics need from a slice of documents, noted while each document
// is built: documents are serialised and dropped at once (so they die young and cost
// the garbage collector little), and the counts are applied only once the slice is in.

export interface Tally {
  /** carbon.log events by level. */
  levels: Map<string, number>;
  /** codecarbon run documents (the emissions gauges read them back). */
  runs: number;
  /** codecarbon function measurements. */
  functions: { project: string; fn: string; emissions: number }[];
}

export function newTally(): Tally {
  return { levels: new Map(), runs: 0, functions: [] };
}

export function tallyDocument(tally: Tally, doc: Document): void {
  const dataset = (doc.event as { dataset?: string } | undefined)?.dataset;
  if (dataset === 'carbon.log') {
    tallyLogLevel(tally, (doc.log as { level?: unknown } | undefined)?.level);
    return;
  }
  if (dataset === 'codecarbon.run') {
    tally.runs++;
    return;
  }
  const cc = doc.codecarbon as Record<string, unknown> | undefined;
  if (!cc) return;
  const project = typeof cc.project_name === 'string' ? cc.project_name : 'unknown';
  if (dataset === 'codecarbon.function' && typeof cc.emissions === 'number') {
    tally.functions.push({ project, fn: String(cc.function ?? 'unknown'), emissions: cc.emissions });
  }
}

/** A carbon.log event of this level (a text event's, written without an object, or a document's `log.level`). */
export function tallyLogLevel(tally: Tally, level: unknown): void {
  const key = String(level ?? 'none');
  tally.levels.set(key, (tally.levels.get(key) ?? 0) + 1);
}

/** One increment per label set, not per document: a label lookup per document cost a worker 3 % of its CPU. */
export function applyTally(m: Metrics, tally: Tally): void {
  for (const [level, n] of tally.levels) m.logEvents.inc({ level }, n);
  for (const f of tally.functions) m.emissionsKgTotal.inc({ project: f.project, function: f.fn }, f.emissions);
}
