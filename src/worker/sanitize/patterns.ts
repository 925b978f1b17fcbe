import { base64Prose, reference, sequential, shannon, wordLike } from './lookalike.js';
import { awsSecretShape, cardDigitRun } from './shapes.js';
// What a secret looks like, as data (beside the provider catalogue, catalogue.ts). A
// token may sit inside an identifier ("upload_ghp_..."): boundaries are "no letter or
// digit", not \b, which "_" defeats. Keys are compared after normalising (lowercase,
// no "-", "_", "." or spaces) and by their last word, so `db_password`, `X-Api-Key` and
// `accessToken` match while `token_count` and `password_hint` do not.

export const SENSITIVE_KEYS = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'authorization',
  'auth',
  'cookie',
  'set-cookie',
  'session',
  'private_key',
  'access_key',
  'secret_key',
  'credentials',
  'client_secret',
  'session_id',
  'sessionid',
  'access_token',
  'refresh_token',
  'id_token',
  'passphrase',
  'pass',
] as const;

export interface StringRule {
  name: string;
  /** Source of a regex without capture groups of its own beyond those `replace` uses. */
  pattern: string;
  /**
   * Replacement for the whole match; `$1`-style references are to this rule's own
   * groups. Null: on a closer look not a secret (the match stays, nothing is counted).
   */
  replace: (match: string, groups: (string | undefined)[]) => string | null;
  /** Number of capture groups in `pattern`. */
  groups: number;
  /**
   * What every match of the rule contains, so that a string without it is not scanned
   * by the rule at all (sanitizer.ts): lowercase literals, one of which is in the
   * lowercased match; or, for a secret with no literal part, a test of its shape.
   */
  trigger: readonly string[] | ((text: string) => boolean);
}

const R = '[REDACTED]';

/**
 * Where a token of `chars` may start: after none of them, or after a short lower-case
 * word and "_" that start their run (`upload_<token>`, a report's function name). Only
 * the first token of a run can follow such a word, so a long run of token characters
 * holds at most one start of this kind and the rule stays linear.
 */
export function tokenStart(chars: string): string {
  return `(?:(?<![${chars}])|(?<=(?<![${chars}])[a-z]{1,16}_))`;
}

/** `password` as `[pP][aA]...`: a rule's regex is compiled without flags. */
export function ci(word: string): string {
  return word.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
}

/** A token after "Bearer"/"Token", not a word of a sentence ("Token validation succeeded"). */
function tokenLike(value: string): boolean {
  return /\d/.test(value) || (value.length >= 20 && shannon(value) >= 3.5) || /[A-Z].*[a-z].*[A-Z]|[a-z][A-Z]/.test(value.slice(1));
}

/** Base64 that decodes to user:password, as a Basic credential does ("Basic connectivity" does not). */
function basicCredential(value: string): boolean {
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded);
}

// After a key, values that are no secret: placeholders. And, unquoted after a colon, a
// single lowercase word makes the text a sentence ("password: required", "token:
// expired"); after "=" or in quotes it is an assignment, and redacted.
// Placeholders as code and templates write them: {3}, {name}, [your key here],
// &lt;password&gt;, a mask of x's or stars (references: lookalike.ts).
const NOT_A_SECRET =
  /^(?:\*+|[Xx]{4,}|\[REDACTED\]|null|none|nil|true|false|<[^>]*>|&lt;.*&gt;|%[sd]|\{\{[^}]*\}\}|\{\d*\}|\{[A-Za-z_][A-Za-z0-9_]*\}|\[[^\]]*\])$/;

// Code, not a value: a cast's or a call's parenthesis (`pwd = (char *) (p + 2)`) and
// an element's id (`this.addPassword = "#add-password"`, kebab-case words).
const CODE = /^\((?:[A-Za-z_][A-Za-z0-9_]*)?$|^#[a-z]+(?:-[a-z]+)+$/;

/** A path or a route made of words (`/en/enterprise-server@3.0/auth`, `cms/sites/passwords#update`). */
function wordPath(value: string): boolean {
  return value.includes('/') && wordLike(value);
}

// A quoted "value" that is the space between two string literals being joined
// (`"Password: " + getPassword() + ","`, PHP's `'password = '.$p[…]`).
const JOINED = /^\s*(?:\+|\.\s*\$)|[\w)\]]\s*\+\s*$/;

// A placeholder written as a run of the alphabet, or mostly zeros (`0000…00aa`, the
// null key; gitleaks' generic rule has "000000" among its stopwords). Another character
// over and over is not one of these: corpora call `aaaa…` under a key a secret as often
// as a placeholder, and a placeholder redacted costs nothing.
function filler(value: string): boolean {
  return value.length >= 8 && (sequential(value) || value.split('0').length - 1 >= value.length / 2);
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) d *= 2;
    sum += d > 9 ? d - 9 : d;
  }
  return sum % 10 === 0;
}
/** A card number: an issuer's prefix and length, and a valid Luhn check digit. */
export function isCardNumber(digits: string): boolean {
  return CARD.test(digits) && luhn(digits);
}

// Issuer prefixes and lengths of the common card networks (Visa, Mastercard, Amex,
// Discover): a Luhn check alone passes one random number in ten.
const CARD = /^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:2[2-9]|[3-6]\d|7[01])\d{13}|3[47]\d{13}|6(?:011|5\d\d)\d{12})$/;

// Key names that, followed by "=" or ":", introduce a secret in free text or a query
// string. The name must end right before the separator: `token_count: 3` is not one.
// The key must start where a word starts: without that anchor the lazy prefix is tried
// from every position of a long run of letters, which is quadratic (a 1 MiB line spun
// a worker at 100 % CPU).
// Case does not matter: DB_PASSWORD=, Password:, X-Api-Key:.
const KV_KEYS = `(?:(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?(?:${['password', 'passwd', 'pwd', 'secret', 'token', 'authorization', 'credentials', 'sessid', 'cookie', 'passphrase'].map(ci).join('|')}|${ci('api')}[_-]?${ci('key')}|${ci('private')}[_-]?${ci('key')}|${ci('access')}[_-]?${ci('key')}|${ci('account')}[_-]?${ci('key')}|${ci('session')}[_-]?${ci('id')})|(?<![A-Za-z0-9])(?:${ci('pw')}|${ci('pass')}))`;

// Every key of KV_KEYS, lowercased, contains one of these ("password" holds "pass").
const KV_TRIGGERS = [
  'pass',
  'pw',
  'secret',
  'token',
  'authorization',
  'credentials',
  'sessid',
  'cookie',
  ...['api', 'private', 'access', 'account', 'session'].flatMap((a) => {
    const b = a === 'session' ? 'id' : 'key';
    return [`${a}${b}`, `${a}_${b}`, `${a}-${b}`];
  }),
];

// A3T + one more, ABIA and ACCA as well: the prefixes gitleaks and detect-secrets know.
const AWS_KEY_PREFIXES = ['AKIA', 'ASIA', 'AGPA', 'AIDA', 'AROA', 'ANPA', 'ANVA', 'AIPA', 'ABIA', 'ACCA', 'A3T[A-Z0-9]'];

export const STRING_RULES: StringRule[] = [
  {
    name: 'pem_private_key',
    pattern: '-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\\s\\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)',
    trigger: ['-----begin'],
    groups: 0,
    replace: () => `-----BEGIN PRIVATE KEY-----${R}-----END PRIVATE KEY-----`,
  },
  // Starts only where a run of token characters starts: from every "eyJ" inside a long
  // run the scan went to the run's end, which is quadratic (recheck found it; a 650 kB
  // line took 49 s).
  // An unsigned JWT (alg "none") has no third part and is a bearer credential all the same.
  {
    name: 'jwt',
    pattern: `(?=eyJ)${tokenStart('A-Za-z0-9_-')}eyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}(?:\\.[A-Za-z0-9_-]{5,})?`,
    trigger: ['eyj'],
    groups: 0,
    replace: () => R,
  },
  {
    name: 'bearer',
    pattern: '\\b(Bearer|Token)\\s+([A-Za-z0-9\\-._~+/]{8,}=*)',
    trigger: ['bearer', 'token'],
    groups: 2,
    replace: (_m, g) => (tokenLike(g[1]!) ? `${g[0]} ${R}` : null),
  },
  {
    name: 'basic_auth_header',
    pattern: '\\b(Basic)\\s+([A-Za-z0-9+/]{8,}={0,2})',
    trigger: ['basic'],
    groups: 2,
    replace: (_m, g) => (basicCredential(g[1]!) ? `${g[0]} ${R}` : null),
  },
  // Azure SAS tokens and other signed URLs: the signature is the credential.
  {
    name: 'url_signature',
    pattern: '([?&](?:sig|signature|X-Amz-Signature)=)([A-Za-z0-9%+/=_.-]{16,})',
    trigger: ['sig=', 'signature='],
    groups: 2,
    replace: (_m, g) => `${g[0]}${R}`,
  },
  {
    // Luhn-checked, with the single spaces or dashes people group them with.
    name: 'card_number',
    pattern: '(?<![0-9-])[2-6](?:[ -]?[0-9]){12,18}(?![0-9])',
    trigger: cardDigitRun,
    groups: 0,
    replace: (m) => (isCardNumber(m.replace(/[ -]/g, '')) ? R : null),
  },
  {
    name: 'url_credentials',
    // Bounded lengths keep every rule linear: an unbounded scheme or userinfo is scanned
    // from each word start of a long line, which is quadratic.
    // A quote is no character of a URL's userinfo in logs (RFC 3986 allows "'", code
    // quotes with it): "https://host:8000";@x and 'https://host:8000';@x are no credential.
    pattern: '(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://)([^\\s:@/"\']{1,256}):([^\\s@/"\']{1,256})@',
    trigger: ['@'],
    groups: 3,
    replace: (_m, g) => `${g[0]}${g[1]}:${R}@`,
  },
  {
    name: 'aws_access_key_id',
    pattern: `(?<![A-Za-z0-9])(?:${AWS_KEY_PREFIXES.join('|')})[A-Z0-9]{16}(?![A-Za-z0-9])`,
    trigger: AWS_KEY_PREFIXES.map((p) => p.replace(/\[.*$/, '').toLowerCase()),
    groups: 0,
    replace: () => R,
  },
  {
    name: 'github_token',
    pattern: '(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})',
    trigger: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    groups: 0,
    replace: () => R,
  },
  { name: 'slack_token', pattern: '\\bxox[abposr]-[A-Za-z0-9-]{10,}', trigger: ['xox'], groups: 0, replace: () => R },
  {
    name: 'slack_webhook',
    pattern: 'https://hooks\\.slack\\.com/services/[A-Za-z0-9/_-]+',
    trigger: ['hooks.slack.com'],
    groups: 0,
    replace: () => `https://hooks.slack.com/services/${R}`,
  },
  { name: 'stripe_key', pattern: '(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}', trigger: ['k_live_', 'k_test_'], groups: 0, replace: () => R },
  {
    name: 'key_value',
    // An authorization scheme and its credential are one value; the separator may end
    // a line (a value on the next line of the same record).
    // Assignments as languages write them: Go's :=, Ruby's and Perl's =>, and a
    // comparison with a literal (`creds.Secret != "open-sesame"`).
    pattern: `(${KV_KEYS})(["']?\\s*(?::=|=>|[!=]=(?=\\s*["'])|[=:])\\s*)(?!-----BEGIN)((?:Basic|Bearer|Token|Digest|SSWS)\\s+[^\\s"',;]+|"[^"]*"|'[^']*'|\\{[^{}\\s]{0,64}\\}|\\[[^\\[\\]\\n]{0,128}\\]|[^\\s&,;"'}]+)`,
    trigger: KV_TRIGGERS,
    groups: 3,
    replace: (_m, g) => {
      const value = g[2] ?? '';
      const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
      const bare = quote ? value.slice(1, -1) : value;
      // A value closed by the call or list it was written in ("login(password: required)").
      const word = quote ? bare : bare.replace(/[)\]]+$/, '');
      // A value quoted twice over (`"'$VAR'"`, a shell splicing a variable in) is read inside.
      const inner = quote ? bare.replace(/^'(.*)'$/, '$1') : word;
      if (
        word === '' ||
        NOT_A_SECRET.test(word) ||
        NOT_A_SECRET.test(bare) ||
        NOT_A_SECRET.test(inner) ||
        reference(word) ||
        reference(inner) ||
        CODE.test(word) ||
        wordPath(inner) ||
        (quote && JOINED.test(bare)) ||
        filler(inner) ||
        (!quote && g[1]!.includes(':') && /^[a-z]{1,12}$/.test(word))
      )
        return null;
      return `${g[0]}${g[1]}${quote}${R}${quote}`;
    },
  },
  {
    // 40 characters of base64 with upper, lower and digits: an AWS secret access key.
    // Lowercase hex (a SHA-1 or git commit) does not match, nor a CamelCase class name
    // with digits, base64 of prose or a typed placeholder (lookalike.ts).
    name: 'aws_secret_key',
    pattern: '(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])',
    trigger: awsSecretShape,
    groups: 0,
    replace: (m) => (wordLike(m) || base64Prose(m) || sequential(m) ? null : R),
  },
  // RFC 5321 limits (64-byte local part, 63-byte labels) double as the linear-time bound.
  {
    name: 'email',
    pattern: '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}\\.[A-Za-z]{2,24}\\b',
    trigger: ['@'],
    groups: 0,
    replace: () => '[REDACTED_EMAIL]',
  },
];
