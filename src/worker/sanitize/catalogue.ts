import { shannon, typedWalk } from './lookalike.js';
// Provider token formats from a maintained catalogue (gitleaks' default rules, turned
// into gitleaks-rules.ts by tools/gitleaks-rules.py) rather than a hand list. As
// gitleaks does, a rule runs only on a string holding one of its keywords (the
// sanitizer's one keyword pass over the lowercased string picks the rules), its secret
// (the capture group it names, else the first group, else the match) must reach the
// rule's Shannon entropy, and allowlisted values (placeholders, examples, stopwords)
// are left alone.

export interface CatalogueRule {
  id: string;
  source: string;
  flags: string;
  secretGroup: number;
  entropy: number;
  keywords: string[];
  allow: string[];
  stopwords: string[];
}

export interface Catalogue {
  allow: string[];
  stopwords: string[];
  rules: CatalogueRule[];
}

/** A catalogue rule ready to run; `keywords` gate it (keywords.ts). */
export interface CompiledRule {
  id: string;
  regex: RegExp;
  group: number;
  entropy: number;
  keywords: readonly string[];
  allow: RegExp[];
  stopwords: string[];
}

export type Span = [start: number, end: number];

// gitleaks ends a token at a quote, a space, ";" (and "_", tools/gitleaks-rules.py) or
// the end: in logs a token is as often followed by ")", ",", "]", "." or ">", so here a
// token ends where no letter or digit follows it.
const GITLEAKS_END = '(?:[\\x60\'"\\s;_]|\\\\[nr]|$)';
const TOKEN_END = '(?![A-Za-z0-9])';
const GENERIC_RULE = 'generic-api-key';

export class CatalogueDetector {
  readonly rules: readonly CompiledRule[];
  private readonly allow: RegExp[];
  private readonly stopwords: string[];

  constructor(catalogue: Catalogue, exclude: ReadonlySet<string> = new Set()) {
    this.allow = catalogue.allow.map((a) => new RegExp(a, 'i'));
    this.stopwords = catalogue.stopwords;
    this.rules = catalogue.rules
      .filter((rule) => !exclude.has(rule.id))
      .map((rule) => {
        // Every rule of gitleaks' default catalogue names keywords; one without would
        // have to run on every string, which the scanner does not do.
        if (rule.keywords.length === 0) throw new Error(`catalogue rule ${rule.id} has no keywords`);
        return {
          id: rule.id,
          regex: new RegExp(rule.source.replaceAll(GITLEAKS_END, TOKEN_END), `${rule.flags}gd`),
          group: rule.secretGroup,
          entropy: rule.entropy,
          keywords: rule.keywords,
          allow: rule.allow.map((a) => new RegExp(a, 'i')),
          stopwords: rule.stopwords,
        };
      });
  }

  /** Where the secrets in `text` are by `rules` (those whose keywords it holds), and which rule found each. */
  find(text: string, rules: Iterable<CompiledRule>): { span: Span; rule: string }[] {
    const found: { span: Span; rule: string }[] = [];
    for (const rule of rules) {
      rule.regex.lastIndex = 0;
      for (let m = rule.regex.exec(text); m; m = rule.regex.exec(text)) {
        if (m[0] === '') {
          rule.regex.lastIndex++;
          continue;
        }
        const group = rule.group > 0 ? rule.group : m.length > 1 && m[1] !== undefined ? 1 : 0;
        const secret = m[group];
        const at = m.indices?.[group];
        if (secret === undefined || !at) continue;
        if (!this.isSecret(rule, secret)) continue;
        found.push({ span: [at[0], at[1]], rule: rule.id });
      }
    }
    return found;
  }

  private isSecret(rule: CompiledRule, secret: string): boolean {
    if (rule.entropy > 0 && shannon(secret) < rule.entropy) return false;
    // gitleaks' one rule of key names and no format takes a typed placeholder under a
    // key (`licenseKey=a1b2c3d4…`), which its entropy floor lets through: the same test
    // as the sanitizer's own rule of key names (patterns.ts, key_value).
    if (rule.id === GENERIC_RULE && typedWalk(secret)) return false;
    if (this.allow.some((a) => a.test(secret)) || rule.allow.some((a) => a.test(secret))) return false;
    const lower = secret.toLowerCase();
    return !this.stopwords.some((w) => lower.includes(w)) && !rule.stopwords.some((w) => lower.includes(w));
  }
}

/** `text` with every span (merged where they overlap) replaced by `mark`; and how many. */
export function redactSpans(text: string, spans: Span[], mark: string): { text: string; count: number } {
  if (spans.length === 0) return { text, count: 0 };
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Span[] = [];
  for (const s of sorted) {
    const last = merged.at(-1);
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  let out = '';
  let at = 0;
  for (const [a, b] of merged) {
    out += text.slice(at, a) + mark;
    at = b;
  }
  return { text: out + text.slice(at), count: merged.length };
}
