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
const LOCATION_KEYS = new Set(['latitude', 'longitude']);

export class Sanitizer {
  private readonly keys: Set<string>;
  private readonly combined: RegExp;
  private readonly rules: { rule: StringRule; group: number }[];
  /** Cheap pre-check: a string without any of these characters cannot hold a secret. */
  private readonly maybe = /[=:@-]|eyJ|gh|xox|sk_|rk_|AKIA|ASIA|[A-Za-z0-9/+]{40}|Bearer|Token|Basic/;

  constructor(private readonly options: SanitizerOptions) {
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

  /** Sanitizes in place and returns the number of redactions. */
  sanitizeDocument(doc: Record<string, unknown>): number {
    if (!this.options.enabled) return 0;
    return this.walk(doc);
  }

  /** One string; returns the clean string and how many secrets it held. */
  sanitizeString(text: string): { text: string; count: number } {
    if (!this.options.enabled || !this.maybe.test(text)) return { text, count: 0 };
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
    const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[\s_.\-]+/).filter(Boolean);
    if (words.length === 0) return false;
    const n = words.length;
    return (
      this.keys.has(words.join('')) ||
      this.keys.has(words[n - 1]!) ||
      (n >= 2 && this.keys.has(words[n - 2]! + words[n - 1]!))
    );
  }

  private walk(node: Record<string, unknown> | unknown[]): number {
    let count = 0;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
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
