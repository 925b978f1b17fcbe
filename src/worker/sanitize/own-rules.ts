import type { StringRule } from './patterns.js';

// The sanitizer's own rules (patterns.ts, formats.ts, families.ts, configured patterns),
// each compiled on its own and run only on a string that holds its trigger. One
// alternation of every rule cost each string the sum of every alternative at each
// position (irregexp cannot skip ahead when an alternative starts with a lookaround),
// paid by every line with a digit run, for rules none of whose words it held. Run one by
// one in the order listed, a rule sees what the rules before it left: at one place the
// first rule listed wins, as in the alternation.

/** A rule, compiled, with its place in the order. */
export interface OwnRule {
  readonly rule: StringRule;
  readonly order: number;
  readonly regex: RegExp;
}

// Declined matches retried one character on, per rule and string: a look-alike a rule
// declined must not hide a secret that starts inside it ("Credentials = new-object
// System.Net.NetworkCredential(\"u\", \"secret\")": the name read as a token after
// "Credentials"). Bounded so that a long run of declined look-alikes stays linear.
const RETRIES = 32;

export function compileOwnRules(rules: readonly StringRule[]): OwnRule[] {
  return rules.map((rule, order) => ({ rule, order, regex: new RegExp(rule.pattern, 'g') }));
}

/** `text` with every match of `own` that its rule accepts replaced; the count goes to `tally`. */
export function applyRule(own: OwnRule, text: string, tally: { count: number }): string {
  const { regex, rule } = own;
  regex.lastIndex = 0;
  let out = '';
  let copied = 0;
  let retries = RETRIES;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    const clean = rule.replace(m[0], m.slice(1, 1 + rule.groups));
    if (clean === null) {
      if (retries-- > 0) regex.lastIndex = m.index + 1;
      else if (m[0].length === 0) regex.lastIndex++;
      continue;
    }
    out += text.slice(copied, m.index) + clean;
    copied = m.index + m[0].length;
    tally.count++;
    if (m[0].length === 0) regex.lastIndex++;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
