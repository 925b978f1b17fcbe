import type { WaitCause } from './bulk/classify.js';

// What the worker is waiting for Elasticsearch about, if anything (issue #34): a full
// disk's flood-stage block, 429s, an outage. Batches wait without loss (worker.ts); the
// operator needs to see why, once, not a warning per batch: a log line when the cause
// changes, /health degraded naming it while it lasts, and the index failures counter by
// cause for alerts.

const DESCRIPTION: Record<WaitCause, string> = {
  writes_blocked: 'Elasticsearch blocks writes (a flood-stage disk watermark or a read-only index block): batches wait until it is lifted',
  overloaded: 'Elasticsearch rejects bulk requests (429): batches wait and are retried with backoff',
  unavailable: 'Elasticsearch is unavailable: batches wait until it answers',
};

export class ElasticsearchWait {
  private cause: WaitCause | null = null;
  private reason = '';
  private since = 0;

  constructor(private readonly now: () => number) {}

  /** A batch had to wait for `cause`; true when that is news (the first, or another cause). */
  note(cause: WaitCause, reason: string): boolean {
    const news = cause !== this.cause;
    if (news) this.since = this.now();
    this.cause = cause;
    this.reason = reason;
    return news;
  }

  /** A batch was indexed: whatever it was is over. True when something was waiting. */
  clear(): boolean {
    const was = this.cause !== null;
    this.cause = null;
    return was;
  }

  /** For /health: the cause, what it means, the last reason and since when; null when nothing waits. */
  degraded(): { cause: WaitCause; detail: string; reason: string; since: string } | null {
    if (!this.cause) return null;
    return { cause: this.cause, detail: DESCRIPTION[this.cause], reason: this.reason, since: new Date(this.since).toISOString() };
  }
}
