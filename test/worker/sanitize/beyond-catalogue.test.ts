import { describe, expect, it } from 'vitest';
import { Sanitizer } from '../../../src/worker/sanitize/sanitizer.js';
import { rng } from '../../helpers/random.js';

// Issue #33: each class of secret that a corpus this project did not write got past the
// catalogue's exact formats, and each look-alike it damaged. Made here from the
// published layouts, with random bodies; none is a real credential.

const sanitizer = new Sanitizer({ enabled: true, extraKeys: [], extraPatterns: [], location: 'round', emails: true });
const clean = (text: string) => sanitizer.sanitizeString(text).text;

const body = (n: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', seed = 7) => {
  const r = rng(seed);
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(r() * alphabet.length)];
  return out;
};

const SECRETS: [string, string, string][] = [
  ['OpenAI key in the older sk- + 48 form', body(48, undefined, 1).replace(/^/, 'sk-'), 'openai.api_key = {}'],
  ['Anthropic key shorter than the rule', `sk-ant-api03-${body(60, undefined, 2)}`, 'client = Anthropic(api_key={})'],
  ['Vault service token in its short form', `hvs.${body(24, undefined, 3)}`, 'vault login {}'],
  ['SendGrid key followed by a parenthesis', `SG.${body(22, undefined, 4)}.${body(43, undefined, 5)}`, 'SendGridAPIClient({})'],
  ['Twilio auth token after the words, no separator', body(32, '0123456789abcdef', 6), 'twilio auth token {} rejected'],
  ['GitHub token followed by a comma', `ghp_${body(36, undefined, 8)}`, 'push failed ({}, retrying)'],
];

describe('secrets beyond the catalogue', () => {
  for (const [name, secret, template] of SECRETS)
    it(`catches a ${name}`, () => {
      const out = clean(template.replace('{}', secret));
      expect(out).not.toContain(secret);
      expect(out).toContain('[REDACTED]');
    });

  it('catches a token in a JSON array element, a nested object, an object key and a CSV cell', () => {
    const token = `sk-${body(48, undefined, 9)}`;
    const doc: Record<string, unknown> = {
      args: ['retry', `using ${token}`],
      context: { request: { detail: [token] } },
      codecarbon: { note: token },
      [token]: 1,
    };
    const n = sanitizer.sanitizeDocument(doc);
    expect(JSON.stringify(doc)).not.toContain(token);
    expect(n).toBeGreaterThanOrEqual(4);
  });

  it("catches a key inside a report's function name and key", () => {
    const token = `sk-ant-api03-${body(70, undefined, 10)}`;
    expect(clean(`upload_${token}`)).not.toContain(token);
    expect(clean(`upload_${token}_2026-12-07T10:00:00.123456`)).not.toContain(token);
  });
});

describe('look-alikes left alone', () => {
  const LOOKS: [string, string][] = [
    ['base64 of English text', Buffer.from('The carbon report was generated on time').toString('base64')],
    ['a 40-character CamelCase class name with digits', 'ReportGeneratorService2FactoryBuilder40X'],
    ['an identifier made of words after a secret word', 'token refresh handler ScheduledTokenRefreshHandlerImpl2026'],
    ['a UUID after a secret word', 'session token 743b294a-cd03-41ec-9d64-0242ac120002 expired'],
    ['a digest named as such', 'secret file sha256 9f86d081884c7d659a2feaf0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['a report key with its time', 'get_token_2026-12-07T10:00:00.123456'],
    ['a file name after a secret word', 'wrote secrets/emissions_20261207_100000.json'],
    ['a repeated pattern', 'api key abcd1234abcd1234abcd1234abcd1234'],
    ['a lone word after a colon, closed by a call', 'login(password: required)'],
  ];
  for (const [name, text] of LOOKS)
    it(`leaves ${name}`, () => {
      expect(clean(text)).toBe(text);
    });
});
