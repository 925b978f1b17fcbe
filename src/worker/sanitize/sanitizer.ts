import { CatalogueDetector, type CompiledRule, redactSpans } from './catalogue.js';
import { CONTEXT_RULE, familyPrefixes, familyRule } from './families.js';
import { FORMAT_RULES } from './formats.js';
import { PROVIDER_RULES } from './providers.js';
import { GITLEAKS } from './gitleaks-rules.js';
import { KeywordScanner } from './keywords.js';
import { timeSuffix } from './lookalike.js';
import { applyRule, compileOwnRules, type OwnRule } from './own-rules.js';
import { isCardNumber, SENSITIVE_KEYS, STRING_RULES, type StringRule } from './patterns.js';

// Removes secrets from a document before it leaves the worker: values of sensitive keys
// at any depth, and secrets inside any string (messages, URLs, stack traces, JSON
// fields). Each string is scanned once for the keywords that gate every rule (the
// rules' triggers and the catalogue's keywords); only a string that holds one meets
// the rules it gates, each on its own (own-rules.ts). The document gets a count of
// redactions, never what was redacted.

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
const LOCATION_KEYS = new Set(['latitude', 'longitude']);
const always = (): boolean => true;

export interface Tally {
  count: number;
}

export class Sanitizer {
  private readonly keys: Set<string>;
  /** The own rules' literal triggers (as their rules) and the catalogue's keywords (as theirs). */
  private readonly keywords: KeywordScanner<CompiledRule | OwnRule>;
  /** The own rules whose trigger is a shape, each with its test (a configured pattern's, which can match anything, is always true). */
  private readonly shaped: { own: OwnRule; test: (text: string) => boolean }[];
  /** Key → sensitive? Keys repeat from document to document; bounded all the same. */
  private readonly keyVerdicts = new Map<string, boolean>();
  private readonly keyCleaned = new Map<string, string>();
  private readonly catalogue: CatalogueDetector;

  constructor(private readonly options: SanitizerOptions) {
    this.keys = new Set([...SENSITIVE_KEYS, ...options.extraKeys].map(normaliseKey));
    this.catalogue = new CatalogueDetector(GITLEAKS);
    const rules: StringRule[] = [
      ...STRING_RULES.filter((r) => options.emails || r.name !== 'email'),
      ...FORMAT_RULES,
      ...PROVIDER_RULES,
      // After every rule of a known layout: at one place the first rule listed wins.
      familyRule(familyPrefixes(GITLEAKS)),
      CONTEXT_RULE,
      ...options.extraPatterns.map((pattern, i) => ({ name: `custom_${i}`, pattern, groups: countGroups(pattern), replace: () => REDACTED, trigger: always })),
    ];
    const own = compileOwnRules(rules);
    const entries: [string, CompiledRule | OwnRule][] = [];
    for (const rule of this.catalogue.rules) for (const k of rule.keywords) entries.push([k, rule]);
    this.shaped = [];
    for (const o of own) {
      const { trigger } = o.rule;
      if (typeof trigger === 'function') this.shaped.push({ own: o, test: trigger });
      else for (const k of trigger) entries.push([k, o]);
    }
    this.keywords = new KeywordScanner(entries);
  }

  /**
   * Sanitizes in place and returns the number of redactions. `trusted` names top-level
   * fields the pipeline wrote itself (time, host, environment), skipped to save time.
   */
  sanitizeDocument(doc: Record<string, unknown>, trusted: ReadonlySet<string> = NONE): number {
    if (!this.options.enabled) return 0;
    const tally: Tally = { count: 0 };
    this.walkObject(doc, trusted, tally);
    return tally.count;
  }

  /** One string; returns the clean string and how many secrets it held. */
  sanitizeString(text: string): { text: string; count: number } {
    if (!this.options.enabled) return { text, count: 0 };
    const tally: Tally = { count: 0 };
    return { text: this.scrub(text, tally), count: tally.count };
  }

  /** One string value of a document: the clean string, its redactions added to `tally`. */
  cleanValue(text: string, tally: Tally): string {
    return this.options.enabled ? this.scrub(text, tally) : text;
  }

  /**
   * Whether a document whose keys are all among `keys` is sanitized exactly by cleaning
   * each of its string values (text-document.ts): no key of it is sensitive.
   */
  valuesOnly(keys: readonly string[]): boolean {
    return !this.options.enabled || keys.every((k) => !this.isSensitiveKey(k));
  }

  /** The clean string (the same one when it held nothing); redactions go to `tally`. */
  private scrub(text: string, tally: Tally): string {
    const time = timeSuffix(text);
    if (time < 0) return this.scrubText(text, tally);
    const name = text.slice(0, time);
    const clean = this.scrubText(name, tally);
    return clean === name ? text : clean + text.slice(time);
  }

  private scrubText(text: string, tally: Tally): string {
    let hits = this.keywords.scan(text.toLowerCase());
    const own: OwnRule[] = [];
    if (hits) for (const hit of hits) if ('order' in hit) own.push(hit);
    for (const s of this.shaped) if (s.test(text)) own.push(s.own);
    let clean = text;
    if (own.length > 0) {
      own.sort((a, b) => a.order - b.order);
      for (const o of own) clean = applyRule(o, clean, tally);
      // The catalogue runs on what the own rules left, gated by what is left of it.
      if (clean !== text) hits = this.keywords.scan(clean.toLowerCase());
    }
    if (!hits) return clean;
    const rules: CompiledRule[] = [];
    for (const hit of hits) if (!('order' in hit)) rules.push(hit);
    return rules.length > 0 ? this.catalogued(clean, rules, tally) : clean;
  }

  /** Provider formats of the catalogue (catalogue.ts), on what the own rules left. */
  private catalogued(text: string, rules: CompiledRule[], tally: Tally): string {
    const found = this.catalogue.find(text, rules);
    if (found.length === 0) return text;
    const r = redactSpans(
      text,
      found.map((f) => f.span),
      REDACTED,
    );
    tally.count += r.count;
    return r.text;
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
    const words = key
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[\s_.-]+/)
      .filter(Boolean);
    if (words.length === 0) return false;
    const n = words.length;
    return this.keys.has(words.join('')) || this.keys.has(words[n - 1]!) || (n >= 2 && this.keys.has(words[n - 2]! + words[n - 1]!));
  }

  // Two walks, for objects and arrays, with no [key, value] pairs or key arrays made on
  // the way: the allocations of Object.entries, then of Object.keys, showed as garbage
  // collection in the worker profile. for...in reads the object's enum cache; every
  // node here is a plain object of JSON.parse or the decoders, so nothing enumerable is
  // inherited, and the own check keeps it so.
  private walkObject(node: Record<string, unknown>, trusted: ReadonlySet<string>, tally: Tally): void {
    for (const key in node) {
      if (trusted.has(key) || !Object.hasOwn(node, key)) continue;
      const value = node[key];
      // A key is a string of the input too ({"sk-…": 1}, a report's function key).
      const cleanKey = this.cleanKey(key, tally);
      if (cleanKey !== key) {
        delete node[key];
        node[cleanKey] = value;
      }
      if (typeof value === 'number' && LOCATION_KEYS.has(key)) this.location(node, key, value);
      // A card number typed as a number (a CSV cell, a JSON value) is no string to scan.
      else if (typeof value === 'number' && value >= 1e12 && Number.isSafeInteger(value) && isCardNumber(String(value))) {
        node[key] = REDACTED;
        tally.count++;
      } else if (value !== null && value !== undefined && value !== '' && this.isSensitiveKey(key)) {
        node[key] = REDACTED;
        tally.count++;
      } else if (typeof value === 'string') {
        const clean = this.scrub(value, tally);
        if (clean !== value) node[key] = clean;
      } else if (Array.isArray(value)) this.walkArray(value, tally);
      else if (value !== null && typeof value === 'object') this.walkObject(value as Record<string, unknown>, NONE, tally);
    }
  }

  /** A key as the scrub leaves it; keys repeat, so verdicts are kept (bounded), and a changed key counts once per document. */
  private cleanKey(key: string, tally: Tally): string {
    let clean = this.keyCleaned.get(key);
    if (clean === undefined) {
      const own: Tally = { count: 0 };
      clean = this.scrub(key, own);
      if (this.keyCleaned.size < MAX_CACHED_KEYS) this.keyCleaned.set(key, clean);
    }
    if (clean !== key) tally.count++;
    return clean;
  }

  private walkArray(node: unknown[], tally: Tally): void {
    for (let i = 0; i < node.length; i++) {
      const value = node[i];
      if (typeof value === 'string') {
        const clean = this.scrub(value, tally);
        if (clean !== value) node[i] = clean;
      } else if (Array.isArray(value)) this.walkArray(value, tally);
      else if (value !== null && typeof value === 'object') this.walkObject(value as Record<string, unknown>, NONE, tally);
    }
  }

  private location(node: Record<string, unknown>, key: string, value: number): void {
    if (this.options.location === 'remove') delete node[key];
    else node[key] = Math.round(value * 10) / 10;
  }
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[\s_.-]+/g, '');
}

function countGroups(pattern: string): number {
  return new RegExp(`${pattern}|`).exec('')!.length - 1;
}
