import type { RotationPolicy } from '../common/config/index.js';

// When a rotation is due, as logrotate decides it: daily when the calendar day changed
// since the last rotation, weekly when the week (Monday start) changed, monthly when
// the month changed, size when the file reached `size` bytes. Days are those of the
// configured zone ("local" is the host's).

export function isDue(policy: RotationPolicy, last: Date, now: Date, size: number, timeZone: string): boolean {
  if (policy.frequency === 'size') return size >= (policy.size ?? 100 * 1024 * 1024);
  if (policy.size !== undefined && size < policy.size) return false;
  const a = calendar(last, timeZone);
  const b = calendar(now, timeZone);
  if (policy.frequency === 'daily') return b.dayNumber > a.dayNumber;
  if (policy.frequency === 'weekly') return b.weekNumber > a.weekNumber;
  return b.year * 12 + b.month > a.year * 12 + a.month;
}

interface Calendar {
  year: number;
  month: number;
  /** Days since 1970-01-01 of the wall-clock date. */
  dayNumber: number;
  /** Weeks since the Monday 1969-12-29. */
  weekNumber: number;
}

export function calendar(at: Date, timeZone: string): Calendar {
  let y: number, m: number, d: number;
  if (timeZone === 'local') {
    [y, m, d] = [at.getFullYear(), at.getMonth() + 1, at.getDate()];
  } else {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
    const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
    [y, m, d] = [get('year'), get('month'), get('day')];
  }
  const dayNumber = Math.floor(Date.UTC(y, m - 1, d) / 86_400_000);
  return { year: y, month: m, dayNumber, weekNumber: Math.floor((dayNumber + 3) / 7) };
}

/** The sortable date suffix for dateext: -YYYYMMDD (with -HHMMSS for size rotations). */
export function dateSuffix(at: Date, withTime: boolean): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}`;
  return withTime ? `-${date}-${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}` : `-${date}`;
}
