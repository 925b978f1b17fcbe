// Naive timestamps (no offset) are wall-clock time in some zone: Python's asctime and
// codecarbon's datetime.now().isoformat() both write the host's local time. This turns
// such a wall-clock reading into an instant, for "local" or any IANA zone.

export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** An IANA name for `timeZone`: "local" is the host's own (TZ, /etc/localtime), as Intl resolves it. */
export function ianaZone(timeZone: string): string {
  return timeZone === 'local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : timeZone;
}

export function wallClockToDate(w: WallClock, timeZone: string): Date {
  if (timeZone === 'local') return new Date(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.millisecond);
  // Two passes settle the offset near DST changes: the zone's offset at the guess.
  let guess = asUtc - offsetMs(asUtc, timeZone);
  guess = asUtc - offsetMs(guess, timeZone);
  return new Date(guess);
}

const HOUR = 3600_000;
// Per zone: a formatter, and offsets by hour of the instant. Offsets change only at
// whole quarter hours (DST, zone changes), so an hour's offset holds for every instant
// in it except the instants of a change; asking Intl once per hour instead of once per
// event cut a large share of a worker's decode time per carbon.log line (measured in
// BENCHMARKS.md). This is a cache of a pure function, bounded, the module's only state.
const zones = new Map<string, { fmt: Intl.DateTimeFormat; byHour: Map<number, number> }>();
const MAX_HOURS = 24 * 400;

function offsetMs(instant: number, timeZone: string): number {
  let zone = zones.get(timeZone);
  if (!zone) {
    zone = {
      fmt: new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      }),
      byHour: new Map(),
    };
    zones.set(timeZone, zone);
  }
  const hour = Math.floor(instant / HOUR);
  const start = zone.byHour.get(hour);
  const end = zone.byHour.get(-hour - 1);
  // Same offset at both ends of the hour: no change inside it.
  if (start !== undefined && start === end) return start;
  const atStart = start ?? offsetOf(zone.fmt, hour * HOUR);
  const atEnd = end ?? offsetOf(zone.fmt, (hour + 1) * HOUR - 1000);
  if (zone.byHour.size > MAX_HOURS) zone.byHour.clear();
  zone.byHour.set(hour, atStart);
  zone.byHour.set(-hour - 1, atEnd);
  return atStart === atEnd ? atStart : offsetOf(zone.fmt, instant);
}

function offsetOf(fmt: Intl.DateTimeFormat, instant: number): number {
  const p = Object.fromEntries(fmt.formatToParts(new Date(instant)).map((x) => [x.type, Number(x.value)]));
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - Math.floor(instant / 1000) * 1000;
}

const ISO_NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/i;

// The lines of one second share their text up to it ("2026-12-04 21:55:57"): the instant
// of the last naive second read is kept, and a line of the same second in the same zone
// adds its fraction to it. Exact, as offsets change only at whole seconds. The other
// bounded cache of a pure function in this module, beside `zones`.
const SECOND_HEAD = 19;
let lastSecond = { timeZone: '', head: '', instant: 0 };

/**
 * Reads ISO-8601 / asctime text. With an explicit zone the text decides; without one
 * it is wall-clock time in `timeZone`. Returns null for anything else.
 */
export function parseTimestamp(text: string, timeZone: string): Date | null {
  const t = text.trim();
  if (t.length >= SECOND_HEAD && lastSecond.timeZone === timeZone && t.startsWith(lastSecond.head)) {
    const ms = fractionMs(t, SECOND_HEAD);
    if (ms !== undefined) return new Date(lastSecond.instant + ms);
  }
  if (HAS_ZONE.test(t)) {
    const d = new Date(t.replace(',', '.'));
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const m = ISO_NAIVE.exec(t);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const w: WallClock = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s ?? 0),
    millisecond: frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0,
  };
  if (w.month < 1 || w.month > 12 || w.day < 1 || w.day > 31 || w.hour > 23 || w.minute > 59 || w.second > 60) return null;
  const date = wallClockToDate(w, timeZone);
  if (Number.isNaN(date.getTime())) return null;
  if (s !== undefined) lastSecond = { timeZone, head: t.slice(0, SECOND_HEAD), instant: date.getTime() - w.millisecond };
  return date;
}

/** The milliseconds of what follows a second's text: nothing, or "." / "," and 1–9 digits; undefined for anything else. */
function fractionMs(t: string, at: number): number | undefined {
  if (t.length === at) return 0;
  const sep = t.charCodeAt(at);
  const digits = t.length - at - 1;
  if ((sep !== 46 && sep !== 44) || digits < 1 || digits > 9) return undefined;
  let ms = 0;
  for (let i = 1; i <= digits; i++) {
    const d = t.charCodeAt(at + i) - 48;
    if (d < 0 || d > 9) return undefined;
    if (i <= 3) ms = ms * 10 + d;
  }
  for (let i = digits; i < 3; i++) ms *= 10;
  return ms;
}
