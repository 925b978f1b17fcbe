// What a secret looks like, as data. Keys are compared after normalising (lowercase,
// no "-", "_", "." or spaces) and by their last word, so `db_password`, `X-Api-Key` and
// `accessToken` match while `token_count` and `password_hint` do not.

export const SENSITIVE_KEYS = [
  'password', 'passwd', 'pwd', 'secret', 'token', 'api_key', 'apikey', 'authorization', 'auth',
  'cookie', 'set-cookie', 'session', 'private_key', 'access_key', 'secret_key', 'credentials',
  'client_secret', 'session_id', 'sessionid', 'access_token', 'refresh_token', 'id_token', 'passphrase',
] as const;

export interface StringRule {
  name: string;
  /** Source of a regex without capture groups of its own beyond those `replace` uses. */
  pattern: string;
  /** Replacement for the whole match; `$1`-style references are to this rule's own groups. */
  replace: (match: string, groups: (string | undefined)[]) => string;
  /** Number of capture groups in `pattern`. */
  groups: number;
}

const R = '[REDACTED]';

// Key names that, followed by "=" or ":", introduce a secret in free text or a query
// string. The name must end right before the separator: `token_count: 3` is not one.
// The key must start where a word starts: without that anchor the lazy prefix is tried
// from every position of a long run of letters, which is quadratic (a 1 MiB line spun
// a worker at 100 % CPU).
const KV_KEYS = '(?:(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|authorization|credentials|private[_-]?key|access[_-]?key|session[_-]?id|sessid|cookie|passphrase)|(?<![A-Za-z0-9])(?:pw|pass))';

export const STRING_RULES: StringRule[] = [
  {
    name: 'pem_private_key',
    pattern: '-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\\s\\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)',
    groups: 0,
    replace: () => `-----BEGIN PRIVATE KEY-----${R}-----END PRIVATE KEY-----`,
  },
  // Starts only where a run of token characters starts: from every "eyJ" inside a long
  // run the scan went to the run's end, which is quadratic (recheck found it; a 650 kB
  // line took 49 s).
  { name: 'jwt', pattern: '(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}', groups: 0, replace: () => R },
  { name: 'bearer', pattern: '\\b(Bearer|Token)\\s+[A-Za-z0-9\\-._~+/]{8,}=*', groups: 1, replace: (_m, g) => `${g[0]} ${R}` },
  { name: 'basic_auth_header', pattern: '\\b(Basic)\\s+[A-Za-z0-9+/]{8,}={0,2}', groups: 1, replace: (_m, g) => `${g[0]} ${R}` },
  {
    name: 'url_credentials',
    // Bounded lengths keep every rule linear: an unbounded scheme or userinfo is scanned
    // from each word start of a long line, which is quadratic.
    pattern: '(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,31}://)([^\\s:@/]{1,256}):([^\\s@/]{1,256})@',
    groups: 3,
    replace: (_m, g) => `${g[0]}${g[1]}:${R}@`,
  },
  { name: 'aws_access_key_id', pattern: '\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\\b', groups: 0, replace: () => R },
  { name: 'github_token', pattern: '\\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\\b', groups: 0, replace: () => R },
  { name: 'slack_token', pattern: '\\bxox[abposr]-[A-Za-z0-9-]{10,}', groups: 0, replace: () => R },
  { name: 'slack_webhook', pattern: 'https://hooks\\.slack\\.com/services/[A-Za-z0-9/_-]+', groups: 0, replace: () => `https://hooks.slack.com/services/${R}` },
  { name: 'stripe_key', pattern: '\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\\b', groups: 0, replace: () => R },
  {
    name: 'key_value',
    pattern: `(${KV_KEYS})(["']?\\s*[=:]\\s*)("[^"]*"|'[^']*'|[^\\s&,;"'}]+)`,
    groups: 3,
    replace: (_m, g) => {
      const value = g[2] ?? '';
      const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
      return `${g[0]}${g[1]}${quote}${R}${quote}`;
    },
  },
  {
    // 40 characters of base64 with upper, lower and digits: an AWS secret access key.
    // Lowercase hex (a SHA-1 or git commit) does not match.
    name: 'aws_secret_key',
    pattern: '(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])',
    groups: 0,
    replace: () => R,
  },
  // RFC 5321 limits (64-byte local part, 63-byte labels) double as the linear-time bound.
  { name: 'email', pattern: '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}\\.[A-Za-z]{2,24}\\b', groups: 0, replace: () => '[REDACTED_EMAIL]' },
];
