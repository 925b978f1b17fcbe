import type { BatchContext } from '../../src/worker/batch.js';
import { Sanitizer } from '../../src/worker/sanitize/sanitizer.js';

/** The sanitizer a worker runs with the default config (on), or off for comparison. */
export function benchSanitizer(enabled = true): Sanitizer {
  return new Sanitizer({ enabled, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
}

/** What a worker passes when it builds a batch's requests, for benchmarks that build them in memory. */
export function benchContext(indexPrefix: string, sanitizer: Sanitizer, projectName = 'TTA-Staging'): BatchContext {
  return {
    environment: 'bench',
    indexPrefix,
    timeZone: 'UTC',
    retentionDays: 30,
    now: new Date(),
    queuedAt: new Date(),
    sanitizer,
    logPatterns: [],
    projectName,
  };
}
