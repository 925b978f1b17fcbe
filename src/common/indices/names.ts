// Daily indices by the event's own UTC date: tta-<env>-carbon-YYYY.MM.DD. Shared by the
// worker (where a document goes) and retention (which names it may delete).

export function dailyIndex(prefix: string, timestamp: string | Date): string {
  const d = typeof timestamp === 'string' ? new Date(timestamp) : timestamp;
  const y = d.getUTCFullYear().toString().padStart(4, '0');
  const m = (d.getUTCMonth() + 1).toString().padStart(2, '0');
  const day = d.getUTCDate().toString().padStart(2, '0');
  return `${prefix}-${y}.${m}.${day}`;
}

/**
 * Where each of a run of toISOString() timestamps goes, and whether retention has
 * already let go of its day. They mostly fall on one day: parsing each back into a
 * Date cost a worker more than the rest of its per-document bookkeeping together.
 */
export class DayIndex {
  private day = '';
  private name = '';
  private readonly cutoffIso: string;

  /** `cutoff`: the start of the oldest day retention keeps (retentionCutoff). */
  constructor(
    private readonly prefix: string,
    private readonly cutoff: Date,
  ) {
    this.cutoffIso = cutoff.toISOString();
  }

  index(iso: string): string {
    // toISOString() of years 0-9999 is exactly 24 characters, YYYY-MM-DDTHH:mm:ss.sssZ.
    if (iso.length !== 24) return dailyIndex(this.prefix, iso);
    const day = iso.slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.name = dailyIndex(this.prefix, iso);
    }
    return this.name;
  }

  /** Same-format ISO strings order as their times do. */
  olderThanRetention(iso: string): boolean {
    return iso.length === 24 ? iso < this.cutoffIso : Date.parse(iso) < this.cutoff.getTime();
  }
}

export function deadLetterIndex(prefix: string, at: Date): string {
  return dailyIndex(`${prefix}-deadletter`, at);
}

/** Start of the oldest UTC day retention keeps: days -(retentionDays-1) .. 0. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (retentionDays - 1) * 86_400_000);
}

const DAY = /(\d{4})\.(\d{2})\.(\d{2})$/;

/**
 * The UTC day an index name stands for, when the name is exactly `<prefix>-YYYY.MM.DD`
 * with a real date; null for anything else, so nothing else is ever taken for ours.
 */
export function dayOfIndex(prefix: string, name: string): Date | null {
  if (!name.startsWith(`${prefix}-`) || name.length !== prefix.length + 11) return null;
  const m = DAY.exec(name);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d ? date : null;
}
