import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CatalogueDetector } from '../../../src/worker/sanitize/catalogue.js';
import { GITLEAKS } from '../../../src/worker/sanitize/gitleaks-rules.js';
import { KeywordScanner } from '../../../src/worker/sanitize/keywords.js';
import { STRING_RULES, type StringRule } from '../../../src/worker/sanitize/patterns.js';
import { Sanitizer } from '../../../src/worker/sanitize/sanitizer.js';
import { LOOKALIKES, SECRET_CASES } from '../../fixtures/secrets.js';
import { lookAlikes, plantedSecrets } from '../../fixtures/secrets/corpus.js';

// A rule meets only the strings its trigger fires on (sanitizer.ts). That is sound only
// if every match of the rule holds its trigger: checked here on every match the rules
// make in the secrets corpora, in upper case too, and in shapes written to sit at the
// edge of each trigger.

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, out.concat(k));
  return out;
}

const EDGES = [
  '4111 1111 1111 1111',
  '4111-1111-1111-1111',
  'order 5-5-5-5-5-5-5-5-5-5-5-5-4 paid',
  'x3782822463100056',
  'card 6011111111111117.',
  'https://x.blob.core.windows.net/c?sv=2024&X-Amz-Signature=abcdefABCDEF0123456789&sig=abcdefABCDEF0123456789',
  'GHP_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'X-Api-Key: s3cr3tvalue PRIVATE-KEY=abc Session_Id=1 ACCESSKEY: q pw=1 PASS: 2 Passphrase=3',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and aB3/aB3/aB3/aB3/aB3/aB3/aB3/aB3/aB3/aB3/',
  'key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; /opt/app/src/components/carbon_component_v2 (wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY)',
  'mail someone.else+tag@example.co.uk or ftp://u:p@host/',
];

const corpus = [
  ...plantedSecrets(20).flatMap((p) => [p.text, p.value]),
  ...lookAlikes().map((l) => l.text),
  ...SECRET_CASES.flatMap((c) => strings(c.doc)),
  ...LOOKALIKES.flatMap((d) => strings(d)),
  ...EDGES,
];

function fires(rule: StringRule, match: string): boolean {
  if (typeof rule.trigger === 'function') return rule.trigger(match);
  const lower = match.toLowerCase();
  return rule.trigger.some((t) => lower.includes(t));
}

describe('sanitizer triggers', () => {
  for (const rule of STRING_RULES) {
    it(`every match of ${rule.name} holds its trigger`, () => {
      const regex = new RegExp(rule.pattern, 'g');
      let matches = 0;
      for (const text of [...corpus, ...corpus.map((t) => t.toUpperCase())]) {
        for (const m of text.matchAll(regex)) {
          matches++;
          expect(fires(rule, m[0]), `${rule.name} on ${JSON.stringify(m[0])}`).toBe(true);
          // The sanitizer asks a shape of the whole string, where the match has neighbours.
          if (typeof rule.trigger === 'function') expect(rule.trigger(text), `${rule.name} on ${JSON.stringify(text)}`).toBe(true);
        }
      }
      expect(matches, `the corpora exercise ${rule.name}`).toBeGreaterThan(0);
    });
  }

  it('the shape triggers stay quiet on text without the shape', () => {
    const shaped = STRING_RULES.filter((r) => typeof r.trigger === 'function');
    for (const text of [
      '2026-12-02 04:17:43,302 - app - INFO - 12 34 56 78',
      'src.components.carbon_component',
      '1'.repeat(12),
      'a'.repeat(39),
      'File "/opt/tta/staging/src/components/generate_narrative.py", line 12',
      `${'aB3'.repeat(14)} is 42 long`,
    ]) {
      for (const rule of shaped) expect((rule.trigger as (t: string) => boolean)(text), `${rule.name} on ${text}`).toBe(false);
    }
  });

  it('finds every keyword, overlapping and prefixes of longer ones included', () => {
    const scanner = new KeywordScanner([
      ['token', 'a'],
      ['tokens', 'b'],
      ['ken', 'c'],
      ['secret_key', 'd'],
      ['key', 'e'],
    ] as const);
    expect([...(scanner.scan('my tokens') ?? [])].sort()).toEqual(['a', 'b', 'c']);
    expect([...(scanner.scan('secret_key=1') ?? [])].sort()).toEqual(['d', 'e']);
    expect(scanner.scan('nothing here')).toBeNull();
  });

  it('finds exactly the keywords a substring search finds, with the real keywords', () => {
    const entries: [string, string][] = [];
    for (const rule of new CatalogueDetector(GITLEAKS).rules) for (const k of rule.keywords) entries.push([k, rule.id]);
    for (const rule of STRING_RULES) if (typeof rule.trigger !== 'function') for (const k of rule.trigger) entries.push([k, rule.name]);
    const scanner = new KeywordScanner(entries);
    const sample = readFileSync(new URL('../../fixtures/samples/carbon.log', import.meta.url), 'utf8').split('\n');
    const texts = [...corpus, ...corpus.map((t) => t.toUpperCase()), ...sample];
    let hit = 0;
    for (const text of texts) {
      const lower = text.toLowerCase();
      const expected = [...new Set(entries.filter(([k]) => lower.includes(k.toLowerCase())).map(([, t]) => t))].sort();
      const found = [...(scanner.scan(lower) ?? [])].sort();
      expect(found, JSON.stringify(text)).toEqual(expected);
      if (found.length > 0) hit++;
    }
    expect(hit, 'some strings hold keywords').toBeGreaterThan(50);
  });

  it('a configured pattern is applied to every string, whatever triggers say', () => {
    const s = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: ['zz[0-9]{3}'], location: 'round', emails: true });
    expect(s.sanitizeString('ticket zz123').text).toBe('ticket [REDACTED]');
  });
});
