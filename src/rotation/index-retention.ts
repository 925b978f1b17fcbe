import type { Client } from '@elastic/elasticsearch';
import type { Config } from '../common/config/index.js';
import { dayOfIndex, retentionCutoff } from '../common/indices/names.js';

// Deletes daily indices older than retention, judged by the date in the name (Curator's
// `source: name`), never by creation time: a re-created old index is still old. Only
// names that are exactly <prefix>-YYYY.MM.DD or <prefix>-deadletter-YYYY.MM.DD with a
// real date qualify; every other index is left alone.

export interface RetentionPolicy {
  indexPrefix: string;
  retentionDays: number;
  deadLetterRetentionDays: number;
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return { indexPrefix: config.elasticsearch.indexPrefix, retentionDays: config.retentionDays, deadLetterRetentionDays: config.deadLetterRetentionDays };
}

export interface RetentionPlan {
  delete: string[];
  keep: string[];
  /** Matching the prefix but not a dated daily name: never touched. */
  ignored: string[];
}

export function planRetention(names: string[], policy: RetentionPolicy, now: Date): RetentionPlan {
  const plan: RetentionPlan = { delete: [], keep: [], ignored: [] };
  const deadPrefix = `${policy.indexPrefix}-deadletter`;
  const cutoff = retentionCutoff(now, policy.retentionDays).getTime();
  const deadCutoff = retentionCutoff(now, policy.deadLetterRetentionDays).getTime();
  for (const name of [...names].sort()) {
    const dead = dayOfIndex(deadPrefix, name);
    const day = dead ?? dayOfIndex(policy.indexPrefix, name);
    if (!day) plan.ignored.push(name);
    else if (day.getTime() < (dead ? deadCutoff : cutoff)) plan.delete.push(name);
    else plan.keep.push(name);
  }
  return plan;
}

export interface RetentionResult extends RetentionPlan {
  dryRun: boolean;
  deleted: string[];
}

// Names per DELETE request: keeps the URL well under HTTP line limits.
const DELETE_CHUNK = 20;

export async function runIndexRetention(
  client: Client,
  policy: RetentionPolicy,
  options: { now: Date; dryRun: boolean; onProgress?: (done: number, total: number) => void },
): Promise<RetentionResult> {
  const found = await client.indices.get({
    index: `${policy.indexPrefix}-*`,
    expand_wildcards: ['open', 'closed'],
    allow_no_indices: true,
    ignore_unavailable: true,
  });
  const plan = planRetention(Object.keys(found), policy, options.now);
  const deleted: string[] = [];
  if (!options.dryRun) {
    for (let i = 0; i < plan.delete.length; i += DELETE_CHUNK) {
      const chunk = plan.delete.slice(i, i + DELETE_CHUNK);
      await client.indices.delete({ index: chunk, ignore_unavailable: true });
      deleted.push(...chunk);
      options.onProgress?.(deleted.length, plan.delete.length);
    }
  }
  return { ...plan, dryRun: options.dryRun, deleted };
}
