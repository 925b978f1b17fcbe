import type { Config } from '../../common/config/index.js';
import { createElasticsearch } from '../../common/elasticsearch/client.js';
import { type DeadLetter, type DeadLetterQuery, findDeadLetters, replayDeadLetters } from '../../ops/dead-letters.js';
import { parseSince } from '../../ops/report.js';

// `tta-carbon dead-letters list|show|replay`: what the runbook used to do with curl.
// Exit codes as the other commands: 0 done, 1 something failed (or was not found),
// 2 bad usage.

export interface DeadLetterOptions {
  since?: string;
  reason?: string;
  json?: boolean;
  dryRun?: boolean;
}

type Action = 'list' | 'show' | 'replay';

export async function deadLettersCommand(config: Config, action: Action, opts: DeadLetterOptions, id?: string): Promise<number> {
  const query: DeadLetterQuery = { reason: opts.reason, id };
  if (opts.since) {
    try {
      query.since = new Date(Date.now() - parseSince(opts.since));
    } catch (err) {
      console.error(`tta-carbon dead-letters: ${(err as Error).message}`);
      return 2;
    }
  }
  const client = await createElasticsearch(config.elasticsearch);
  try {
    const letters = await findDeadLetters(client, config.elasticsearch.indexPrefix, query);
    if (action === 'list') return list(letters, opts.json === true);
    if (action === 'show') return show(letters, id!, opts.json === true);
    return await replay(client, letters, opts.dryRun === true);
  } catch (err) {
    console.error(`tta-carbon dead-letters ${action}: ${(err as Error).message}`);
    return 1;
  } finally {
    await client.close();
  }
}

function list(letters: DeadLetter[], json: boolean): number {
  if (json) {
    console.log(
      JSON.stringify(
        letters.map(({ document: _d, ...rest }) => rest),
        null,
        2,
      ),
    );
    return 0;
  }
  const width = Math.max(80, process.stdout.columns ?? 120);
  for (const l of letters) {
    const line = `${l.at}  ${l.id}  ${l.targetIndex}  ${l.type}: ${l.message.replace(/\s+/g, ' ')}`;
    console.log(line.length > width ? `${line.slice(0, width - 1)}…` : line);
  }
  console.log(`${letters.length} dead letter(s)`);
  return 0;
}

function show(letters: DeadLetter[], id: string, json: boolean): number {
  const letter = letters[0];
  if (!letter) {
    console.error(`tta-carbon dead-letters show: no dead letter ${JSON.stringify(id)}`);
    return 1;
  }
  let document: unknown = letter.document;
  try {
    document = JSON.parse(letter.document);
  } catch {
    // Shown as stored.
  }
  if (json) console.log(JSON.stringify({ ...letter, document }, null, 2));
  else {
    console.log(`id:           ${letter.id}`);
    console.log(`dead-lettered ${letter.at} into ${letter.index} after ${letter.attempts} attempt(s)`);
    console.log(`meant for:    ${letter.targetIndex}`);
    console.log(`refused:      ${letter.type}: ${letter.message}`);
    console.log(`document:\n${JSON.stringify(document, null, 2)}`);
  }
  return 0;
}

async function replay(client: Parameters<typeof replayDeadLetters>[0], letters: DeadLetter[], dryRun: boolean): Promise<number> {
  if (letters.length === 0) {
    console.log('no dead letters to replay');
    return 0;
  }
  if (dryRun) {
    for (const l of letters) console.log(`would replay ${l.id} into ${l.targetIndex} (${l.type})`);
    console.log(`dry run: ${letters.length} dead letter(s) would be replayed; nothing changed`);
    return 0;
  }
  const r = await replayDeadLetters(client, letters);
  for (const { letter, reason } of r.refused) console.log(`refused again ${letter.id} into ${letter.targetIndex}: ${reason}`);
  console.log(
    `${r.replayed.length} replayed, ${r.present.length} already in their index, ${r.refused.length} refused again` +
      `${r.refused.length ? ' (kept as dead letters: fix the cause and replay again)' : ''}`,
  );
  return r.refused.length === 0 ? 0 : 1;
}
