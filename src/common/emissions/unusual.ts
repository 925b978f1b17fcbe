// "Alert on unusual emissions patterns" (the staging guide's security item 5): a host
// mining or exfiltrating shows up as a project emitting far more than it usually does,
// which a fixed threshold misses on a project that normally emits milligrams. The rule,
// in one place for the metric, the alert and `report`:
//
//   An hour is unusual when its emissions are at least UNUSUAL_RATIO times the project's
//   usual hour: the median of the hours with any emissions among the HISTORY_HOURS
//   before it. With fewer than MIN_ACTIVE_HOURS such hours there is too little history
//   to judge, and nothing is said.
//
// Why this shape: a ratio reads the same at milligrams and kilograms; the median of
// active hours judges a project that works a few hours a day against its hours of work,
// not its idle ones (a median of mostly-zero hours would flag every run); and a median
// shrugs off the few hours a past incident inflated. An operator can redo it by hand
// from `report --by hour`.

export const HISTORY_HOURS = 7 * 24;
export const MIN_ACTIVE_HOURS = 24;
export const UNUSUAL_RATIO = 5;
export const HOUR_MS = 3_600_000;

export interface HourJudgement {
  kg: number;
  /** Median of the active hours before it; null without enough history. */
  usualKg: number | null;
  /** kg / usualKg; null without enough history. */
  ratio: number | null;
  unusual: boolean;
  activeHours: number;
}

export function judgeHour(kg: number, history: readonly number[]): HourJudgement {
  const active = history.filter((v) => v > 0);
  if (active.length < MIN_ACTIVE_HOURS) return { kg, usualKg: null, ratio: null, unusual: false, activeHours: active.length };
  const usualKg = median(active);
  const ratio = kg / usualKg;
  return { kg, usualKg, ratio, unusual: ratio >= UNUSUAL_RATIO, activeHours: active.length };
}

/** Judges each hour of `hourly` from index `from` on, against the hours before it. */
export function judgeHours(hourly: readonly number[], from: number): HourJudgement[] {
  const out: HourJudgement[] = [];
  for (let i = Math.max(0, from); i < hourly.length; i++) out.push(judgeHour(hourly[i]!, hourly.slice(Math.max(0, i - HISTORY_HOURS), i)));
  return out;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
