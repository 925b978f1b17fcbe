import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@elastic/elasticsearch';

// What the fleet tests share: a steady writer of numbered lines, a last line to wait on,
// and every document's message read back, to count lost and duplicated lines.

export const END_LINE = 'INFO:fleet:end of the run';
/** The last line's message as indexed (the level and logger are fields of their own). */
export const END_MESSAGE = 'end of the run';

export function lineWriter(file: string, total: number, { perTick = 200, tickMs = 50 } = {}) {
  let written = 0;
  const done = (async () => {
    while (written < total) {
      let text = '';
      for (let i = 0; i < perTick && written < total; i++) text += `INFO:fleet:line ${written++}\n`;
      appendFileSync(file, text);
      await sleep(tickMs);
    }
    // The shipper reads a file in order: once this line is indexed, every line before it
    // that will ever be indexed is (a late duplicate included).
    appendFileSync(file, `${END_LINE}\n`);
  })();
  return { done, written: () => written };
}

/** Every document's message, past the 10,000 a single search returns. */
export async function allMessages(es: Client, pattern: string): Promise<string[]> {
  await es.indices.refresh({ index: pattern });
  const out: string[] = [];
  let page = await es.search({ index: pattern, scroll: '1m', size: 5000, _source: ['message'], query: { match_all: {} } });
  while (page.hits.hits.length > 0) {
    for (const h of page.hits.hits) out.push(String((h._source as { message: string }).message));
    page = await es.scroll({ scroll_id: page._scroll_id!, scroll: '1m' });
  }
  return out;
}

/** Lines lost and duplicated among the numbered lines `0..total-1`. */
export function tally(messages: string[], total: number): { lost: number; duplicated: number; documents: number } {
  const counts = new Map<string, number>();
  for (const m of messages) if (m !== END_MESSAGE) counts.set(m, (counts.get(m) ?? 0) + 1);
  let lost = 0;
  for (let i = 0; i < total; i++) if (!counts.has(`line ${i}`)) lost++;
  const duplicated = [...counts.values()].reduce((n, c) => n + c - 1, 0);
  return { lost, duplicated, documents: messages.length };
}

/** The process's warnings and errors, for a failure message. */
export function problemsOf(output: string, last = 10): string {
  return output
    .split('\n')
    .filter((l) => /"level":[45]0/.test(l))
    .slice(-last)
    .join('\n');
}
