import { createRequire } from 'node:module';
import { DEFAULT_START_PATTERN } from '../lines/boundary.js';

// Patterns operators write (sanitizer.extraPatterns, multiline.startPattern,
// worker.logPatterns) and the start pattern a batch carries from any shipper run in
// V8's backtracking engine, on the main thread: one that backtracks catastrophically
// on a hostile line hangs the process past its signal handlers (issue #13: `(a+)+b`
// spun a worker at 100 % CPU, deaf to SIGTERM). So every such pattern is proved
// linear before use, with recheck (automaton analysis, then fuzzing), and refused
// otherwise. A pattern the analysis cannot settle in time is refused too: "probably
// fine" is not a property a root process may rely on.

/** Analysis time per pattern; recheck answers "unknown" past it. */
const ANALYSIS_TIMEOUT_MS = 10_000;

/**
 * The project's own default patterns with their flags, proved linear by the full
 * analysis in test/security/config-and-patterns.test.ts. Trusted without analysing
 * them again: every process that keeps the default start pattern (each shipper, and
 * each worker for every batch's pattern) spent a quarter of a CPU-second in recheck
 * at start, most of a short benchmark's shipping.
 */
export const PROVED_LINEAR: readonly (readonly [source: string, flags: string])[] = [[DEFAULT_START_PATTERN, '']];

const verdicts = new Map<string, string | null>(PROVED_LINEAR.map(([source, flags]) => [`${flags}/${source}`, null]));

// Loaded on first use: every process loads the configuration, few configure a pattern,
// and the checker costs most of a tenth of a second to load.
let checker: typeof import('recheck') | undefined;
function recheck(): typeof import('recheck') {
  checker ??= createRequire(import.meta.url)('recheck') as typeof import('recheck');
  return checker;
}

/**
 * Null when `source` (with `flags`) matches in linear time; otherwise why not, in words
 * an operator can act on. Invalid syntax is reported as such. Results are cached.
 */
export function unsafeRegexReason(source: string, flags = ''): string | null {
  const key = `${flags}/${source}`;
  const cached = verdicts.get(key);
  if (cached !== undefined) return cached;
  const verdict = analyseRegex(source, flags);
  verdicts.set(key, verdict);
  return verdict;
}

/**
 * The same, always analysed afresh (what PROVED_LINEAR's entries are tested with). The
 * tests that prove the built-in rules give it more time: under a loaded CI machine the
 * longest rule's analysis ran past the operator's budget and came back "unknown".
 */
export function analyseRegex(source: string, flags = '', timeoutMs = ANALYSIS_TIMEOUT_MS): string | null {
  try {
    new RegExp(source, flags);
  } catch (err) {
    return `not a valid regular expression (${(err as Error).message})`;
  }
  // The fuzzer's own time limits (incubation, attack) count wall-clock milliseconds, so
  // on a loaded machine an ordinary input "timed out" and the linear email rule came back
  // vulnerable. Off: its step limits, which count characters read, decide alone, and a
  // pattern gets the same verdict on every machine (the PRNG seed is fixed already).
  const result = recheck().checkSync(source, flags.replace(/[gy]/g, ''), { timeout: timeoutMs, incubationTimeout: null, attackTimeout: null });
  if (result.status === 'safe') return null;
  if (result.status === 'vulnerable') {
    const kind = result.complexity.type === 'exponential' ? 'exponential' : `${result.complexity.summary}`;
    const attack = result.attack.pattern.length > 80 ? `${result.attack.pattern.slice(0, 77)}...` : result.attack.pattern;
    return `can backtrack catastrophically (${kind} time on input like ${attack}); rewrite it without nested or overlapping repetition`;
  }
  return `its matching time could not be shown to be linear (${result.error.kind}); simplify it`;
}

/** A RegExp of a pattern proved linear; throws UnsafeRegexError otherwise. */
export function safeRegExp(source: string, flags = '', what = 'pattern'): RegExp {
  const reason = unsafeRegexReason(source, flags);
  if (reason) throw new UnsafeRegexError(what, reason);
  return new RegExp(source, flags);
}

export class UnsafeRegexError extends Error {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what}: ${reason}`);
    this.name = 'UnsafeRegexError';
  }
}
