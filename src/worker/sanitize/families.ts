import type { Catalogue } from './catalogue.js';
import { randomToken, stem } from './lookalike.js';
import type { StringRule } from './patterns.js';

// Secrets as they appear in logs rather than in their providers' exact published form
// (issue #33): a provider's key of another length or layout than the catalogue's rule
// (an OpenAI key of the older sk- + 48 form, a shorter Anthropic key, Vault's short
// tokens), followed by a ")" or "," gitleaks' rules do not expect, or a random token
// named by the words before it ("auth token 0f3a…"). Each rule matches a prefix or a
// word and then judges the token by its shape (lookalike.ts), never by one length.

const R = '[REDACTED]';

/** `sk-` as `[sS][kK]-`, and regex syntax escaped: a rule's regex is compiled without flags. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&').replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

// Prefixes the catalogue's keywords do not give (keywords without a delimiter, or none):
// OpenAI's and Anthropic's families, AWS key ids, Google API keys, Databricks, Twilio,
// GitLab's runner tokens, Square, Alibaba, Mailgun, NuGet, New Relic, Tavily.
const KNOWN = [
  'sk-',
  'sk-proj-',
  'sk-svcacct-',
  'sk-admin-',
  'sk-ant-',
  'hvr.',
  'AKIA',
  'ASIA',
  'ABIA',
  'ACCA',
  'A3T',
  'AIza',
  'dapi',
  'GR1348941',
  'EAAA',
  'sq0csp-',
  'LTAI',
  'key-',
  'oy2',
  'NRAK-',
  'NRAA-',
  'NRRA-',
  'tvly-',
  'xapp-',
  'xoxb-',
  'xoxa-',
  'xoxr-',
  'xoxs-',
  'xoxo-',
  'glsa_',
  'sntrys_',
  'pypi-',
  'shpat_',
  'PMAK-',
  'AGE-SECRET-KEY-',
  // Docker Hub, Doppler's token kinds, Dependency-Track, Adafruit IO, CircleCI.
  'dckr_pat_',
  'dckr_oat_',
  'dp.ct.',
  'dp.st.',
  'dp.sa.',
  'dp.scim.',
  'dp.audit.',
  'odt_',
  'aio_',
  'CCIPAT_',
];

// Catalogue keywords that end in a delimiter but are words people put in identifiers
// (test_, live_, api-, ext_, v1.0-): their rules still run with their exact formats.
const GENERIC = new Set(['api-', 'ext_', 'live_', 'test_', 'sc_', 's.', 'pat.', 'sat.', 'v1.0-', 'ico-', 'a3-', 'fm2_', 'fo1_']);

/** The prefixes of the catalogue (its keywords that end in `-`, `_` or `.`) and the known ones, longest first. */
export function familyPrefixes(catalogue: Catalogue): string[] {
  const found = new Set(KNOWN.map((p) => p.toLowerCase()));
  for (const rule of catalogue.rules) for (const k of rule.keywords) if (/[-_.]$/.test(k) && k.length >= 3 && !GENERIC.has(k)) found.add(k);
  return [...found].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

// A token's characters: a "." only inside it, so the full stop after a key stays text.
const BODY = '(?:[A-Za-z0-9_+/=~-]|\\.(?=[A-Za-z0-9_-])){12,512}';

/** A known prefix and a random body of any plausible length. */
export function familyRule(prefixes: string[]): StringRule {
  return {
    name: 'prefix_family',
    // Starts where a token starts; a prefix inside an identifier ("upload_sk-…") counts.
    pattern: `(?<![A-Za-z0-9])(${prefixes.map(literal).join('|')})(${BODY})`,
    trigger: prefixes,
    groups: 2,
    replace: (_m, g) => {
      const token = stem(g[1]!);
      return randomToken(token, 12) ? `${R}${g[1]!.slice(token.length)}` : null;
    },
  };
}

// Words that name what follows as a credential, in the forms logs write them.
const CONTEXT_WORDS = ['key', 'token', 'secret', 'password', 'passwd', 'pwd', 'auth', 'credential', 'bearer', 'apikey', 'private', 'signature', 'passphrase'];

// What may stand between the words and the token: not "/", "." or "_", which join the
// parts of a path or a name ("secrets/emissions_20261207.json"), nor a line break.
const SEP = `[ \\t"':=,;(\\[{<>|*-]`;

// Words that name a hex or base64 string as a digest, not a key.
const DIGEST = /\b(?:sha\d*|md5|commit|etag|digest|hash|checksum|fingerprint|revision|rev)\b/i;

/**
 * A random token within three words after a secret-ish word, with or without "=" or ":"
 * ("auth token 0f3a…", "the api key is AbC…", "signature: …"). Bounded pieces keep it
 * linear: the words between are at most 3 of at most 24 characters.
 */
export const CONTEXT_RULE: StringRule = {
  name: 'context_token',
  // The words are a lookbehind, so the match is the token alone: text between the words
  // and the token stays for the other rules ("KeyError(\"password=hunter2\")").
  // Where a token of 16 starts is checked before the words behind it: the lookbehind
  // alone, tried at every position of a long run ("x-x-x-…"), was quadratic.
  pattern: `(?<![A-Za-z0-9_+/=~.-])(?=[A-Za-z0-9][A-Za-z0-9_+/=~.-]{15})(?<=(?<![A-Za-z])((?:${CONTEXT_WORDS.map(literal).join('|')})[A-Za-z_]{0,12}(?:${SEP}{1,4}[A-Za-z0-9_]{1,24}){0,3}${SEP}{1,4}))([A-Za-z0-9][A-Za-z0-9_+/=~.-]{15,511})(?![A-Za-z0-9_+/=~-])`,
  trigger: CONTEXT_WORDS,
  groups: 2,
  replace: (_m, g) => {
    const before = g[0]!;
    const token = stem(g[1]!.replace(/\.+$/, ''));
    if (DIGEST.test(before) || !randomToken(token)) return null;
    return `${R}${g[1]!.slice(token.length)}`;
  },
};
