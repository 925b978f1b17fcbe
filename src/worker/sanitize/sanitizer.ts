import { SENSITIVE_KEYS, STRING_RULES, type StringRule } from './patterns.js';

// Removes secrets from a document before it leaves the worker: values of sensitive keys
// at any depth, and secrets inside any string (messages, URLs, stack traces, JSON
// fields). All string rules are one compiled alternation, so each string is scanned
// once. The document gets a count of redactions, never what was redacted.

export interface SanitizerOptions {
  enabled: boolean;
  extraKeys: string[];
  extraPatterns: string[];
  /** codecarbon latitude/longitude: rounded to one decimal (about 11 km), or removed. */
  location: 'round' | 'remove';
  emails: boolean;
}

const REDACTED = '[REDACTED]';
const NONE: ReadonlySet<string> = new Set();
const MAX_CACHED_KEYS = 10_000;
const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+') BASE64[c.charCodeAt(0)] = 1;

/** Does the text hold 40 base64 characters in a row (the aws_secret_key rule's shape)? */
function hasLongRun(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    run = c < 128 && BASE64[c] === 1 ? run + 1 : 0;
    if (run >= 40) return true;
  }
  return false;
}
const LOCATION_KEYS = new Set(['latitude', 'longitude']);

export class Sanitizer {
  private readonly keys: Set<string>;
  private readonly combined: RegExp;
  private readonly rules: { rule: StringRule; group: number }[];
  /**
   * Cheap pre-check: a string with none of these, and no run of 40 base64 characters
   * (hasLongRun), cannot match any rule. Every rule needs one of them: `=`/`:` for key
   * values, `:` for URLs, `@` for e-mail, a literal prefix for the token formats.
   */
  private readonly maybe: RegExp;
  /** Key → sensitive? Keys repeat from document to document; bounded all the same. */
  private readonly keyVerdicts = new Map<string, boolean>();

  constructor(private readonly options: SanitizerOptions) {
    // Configured patterns can need anything: then every string is scanned.
    this.maybe = options.extraPatterns.length > 0 ? /(?:)/ : /[=:@]|eyJ|gh[pousr]_|github_pat_|xox|_live_|_test_|A[KSGIRNP][IPDONVA]A|Bearer|Token|Basic|-----BEGIN/;
    this.keys = new Set([...SENSITIVE_KEYS, ...options.extraKeys].map(normaliseKey));
    const rules: StringRule[] = [
      ...STRING_RULES.filter((r) => options.emails || r.name !== 'email'),
      ...options.extraPatterns.map((pattern, i) => ({ name: `custom_${i}`, pattern, groups: countGroups(pattern), replace: () => REDACTED })),
    ];
    let group = 1;
    this.rules = rules.map((rule) => {
      const entry = { rule, group };
      group += 1 + rule.groups;
      return entry;
    });
    this.combined = new RegExp(rules.map((r) => `(${r.pattern})`).join('|'), 'g');
  }

  /**
   * Sanitizes in place and returns the number of redactions. `trusted` names top-level
   * fields the pipeline wrote itself (time, host, environment), skipped to save time.
   */
  sanitizeDocument(doc: Record<string, unknown>, trusted: ReadonlySet<string> = NONE): number {
    if (!this.options.enabled) return 0;
    return this.walk(doc, trusted);
  }

  /** One string; returns the clean string and how many secrets it held. */
  sanitizeString(text: string): { text: string; count: number } {
    if (!this.options.enabled || (!this.maybe.test(text) && !hasLongRun(text))) return { text, count: 0 };
    let count = 0;
    const out = text.replace(this.combined, (match: string, ...args: unknown[]) => {
      for (const { rule, group } of this.rules) {
        if (args[group - 1] === undefined) continue;
        count++;
        const groups = args.slice(group, group + rule.groups) as (string | undefined)[];
        return rule.replace(match, groups);
      }
      return match;
    });
    return { text: out, count };
  }

  isSensitiveKey(key: string): boolean {
    let verdict = this.keyVerdicts.get(key);
    if (verdict === undefined) {
      verdict = this.judgeKey(key);
      if (this.keyVerdicts.size < MAX_CACHED_KEYS) this.keyVerdicts.set(key, verdict);
    }
    return verdict;
  }

  private judgeKey(key: string): boolean {
    const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[\s_.\-]+/).filter(Boolean);
    if (words.length === 0) return false;
    const n = words.length;
    return (
      this.keys.has(words.join('')) ||
      this.keys.has(words[n - 1]!) ||
      (n >= 2 && this.keys.has(words[n - 2]! + words[n - 1]!))
    );
  }

  private walk(node: Record<string, unknown> | unknown[], trusted: ReadonlySet<string> = NONE): number {
    let count = 0;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
      if (typeof key === 'string' && trusted.has(key)) continue;
      if (typeof key === 'string' && LOCATION_KEYS.has(key) && typeof value === 'number') {
        this.location(node as Record<string, unknown>, key, value);
        continue;
      }
      if (typeof key === 'string' && value !== null && value !== undefined && value !== '' && this.isSensitiveKey(key)) {
        (node as Record<string, unknown>)[key] = REDACTED;
        count++;
      } else if (typeof value === 'string') {
        const clean = this.sanitizeString(value);
        if (clean.count > 0) {
          (node as Record<string | number, unknown>)[key] = clean.text;
          count += clean.count;
        }
      } else if (value !== null && typeof value === 'object') {
        count += this.walk(value as Record<string, unknown>);
      }
    }
    return count;
  }

  private location(node: Record<string, unknown>, key: string, value: number): void {
    if (this.options.location === 'remove') delete node[key];
    else node[key] = Math.round(value * 10) / 10;
  }
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[\s_.\-]+/g, '');
}

function countGroups(pattern: string): number {
  return new RegExp(`${pattern}|`).exec('')!.length - 1;
}
