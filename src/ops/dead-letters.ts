import type { Client } from '@elastic/elasticsearch';
import { classifyItem, type BulkItemResult } from '../worker/bulk/classify.js';

// The documents Elasticsearch refused for good (a mapping conflict, say), as the worker
// keeps them in tta-<env>-carbon-deadletter-YYYY.MM.DD (worker/bulk/indexer.ts): found,
// shown, and put back into the daily index they were meant for once the cause is fixed.
// A replayed document goes in under its own id with `create`, so replaying twice adds
// nothing; its dead letter is removed only once the document is in its index.

export interface DeadLetter {
  /** The dead-letter index and id (the id is the document's own). */
  index: string;
  id: string;
  at: string;
  targetIndex: string;
  type: string;
  message: string;
  attempts: number;
  /** The document as the worker built and sanitized it, JSON. */
  document: string;
}

export interface DeadLetterQuery {
  /** Only those dead-lettered since this time. */
  since?: Date;
  /** Only those whose error type or message holds this text (case-insensitive). */
  reason?: string;
  /** One dead letter, by its document id. */
  id?: string;
}

const PAGE = 1000;

interface Source {
  '@timestamp'?: string;
  target_index?: string;
  document_id?: string;
  error?: { type?: string; message?: string };
  attempts?: number;
  document?: string;
}

/** The dead letters of `prefix` that `query` selects, oldest first. */
export async function findDeadLetters(client: Client, prefix: string, query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const filter: object[] = [];
  if (query.since) filter.push({ range: { '@timestamp': { gte: query.since.toISOString() } } });
  if (query.id) filter.push({ ids: { values: [query.id] } });
  const out: DeadLetter[] = [];
  let after: unknown[] | undefined;
  for (;;) {
    const res = await client.search<Source>({
      index: `${prefix}-deadletter-*`,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: PAGE,
      sort: [{ '@timestamp': 'asc' }, { document_id: 'asc' }],
      query: { bool: { filter } },
      ...(after ? { search_after: after as never } : {}),
    });
    for (const hit of res.hits.hits) {
      const s = hit._source ?? {};
      const letter: DeadLetter = {
        index: hit._index,
        id: hit._id!,
        at: s['@timestamp'] ?? '',
        targetIndex: s.target_index ?? '',
        type: s.error?.type ?? '',
        message: s.error?.message ?? '',
        attempts: s.attempts ?? 0,
        document: s.document ?? '',
      };
      if (matchesReason(letter, query.reason)) out.push(letter);
    }
    if (res.hits.hits.length < PAGE) return out;
    after = res.hits.hits.at(-1)!.sort;
  }
}

function matchesReason(letter: DeadLetter, reason: string | undefined): boolean {
  if (!reason) return true;
  const r = reason.toLowerCase();
  return letter.type.toLowerCase().includes(r) || letter.message.toLowerCase().includes(r);
}

export interface ReplayResult {
  /** Indexed now, and their dead letters removed. */
  replayed: DeadLetter[];
  /** Already in their index under their id (an earlier replay): dead letters removed. */
  present: DeadLetter[];
  /** Refused again or unreadable, with why: their dead letters stay. */
  refused: { letter: DeadLetter; reason: string }[];
}

/** Puts `letters` back into their daily indices under their ids; removes the dead letter of each one that is there. */
export async function replayDeadLetters(client: Client, letters: DeadLetter[]): Promise<ReplayResult> {
  const result: ReplayResult = { replayed: [], present: [], refused: [] };
  for (let i = 0; i < letters.length; i += PAGE) {
    const page: DeadLetter[] = [];
    const operations: object[] = [];
    for (const letter of letters.slice(i, i + PAGE)) {
      let doc: object;
      try {
        doc = JSON.parse(letter.document) as object;
      } catch {
        result.refused.push({ letter, reason: 'the stored document is not JSON' });
        continue;
      }
      if (!letter.targetIndex) {
        result.refused.push({ letter, reason: 'the dead letter names no target index' });
        continue;
      }
      page.push(letter);
      operations.push({ create: { _index: letter.targetIndex, _id: letter.id } }, doc);
    }
    if (page.length === 0) continue;
    const res = await client.bulk({ operations, refresh: 'wait_for' });
    const done: DeadLetter[] = [];
    res.items.forEach((item, j) => {
      const letter = page[j]!;
      const outcome = classifyItem((item.create ?? Object.values(item)[0]) as BulkItemResult);
      if (outcome.kind === 'indexed') {
        (outcome.duplicate ? result.present : result.replayed).push(letter);
        done.push(letter);
      } else result.refused.push({ letter, reason: outcome.kind === 'dead' ? `${outcome.type}: ${outcome.reason}` : outcome.reason });
    });
    if (done.length > 0) await client.bulk({ operations: done.map((d) => ({ delete: { _index: d.index, _id: d.id } })), refresh: 'wait_for' });
  }
  return result;
}
