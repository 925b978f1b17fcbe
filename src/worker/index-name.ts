// Daily indices by the event's own UTC date: tta-<env>-carbon-YYYY.MM.DD.

export function dailyIndex(prefix: string, timestamp: string | Date): string {
  const d = typeof timestamp === 'string' ? new Date(timestamp) : timestamp;
  const y = d.getUTCFullYear().toString().padStart(4, '0');
  const m = (d.getUTCMonth() + 1).toString().padStart(2, '0');
  const day = d.getUTCDate().toString().padStart(2, '0');
  return `${prefix}-${y}.${m}.${day}`;
}

export function deadLetterIndex(prefix: string, at: Date): string {
  return dailyIndex(`${prefix}-deadletter`, at);
}

/** Start of the oldest UTC day retention keeps: days -(retentionDays-1) .. 0. */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (retentionDays - 1) * 86_400_000);
}
