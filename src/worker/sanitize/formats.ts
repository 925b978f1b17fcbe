import { dated, fileName, isUuid, reference, sequential, stem, wordLike } from './lookalike.js';
import { ci, type StringRule, tokenStart } from './patterns.js';

// Secrets recognised by the layout their format gives them rather than by a provider's
// prefix or a word before them (issue #33): crypt(3) password hashes, the dotted
// three-part Discord token, Telegram's bot token, webhook URLs whose path is the
// credential, and passwords as command lines, netrc files and build scripts write them.
// Each pattern is bounded so that each rule stays linear on long lines.

const R = '[REDACTED]';

// crypt(3)'s modular format and its kin ($id$salt$hash): MD5-crypt, bcrypt, SHA-crypt,
// yescrypt, scrypt, Argon2, PBKDF2, phpass, Kerberos AS-REP/TGS hashes.
const HASH_IDS = [
  '1',
  '2',
  '2a',
  '2b',
  '2x',
  '2y',
  '5',
  '6',
  '7',
  '8',
  '9',
  'y',
  'gy',
  'md5',
  'sha1',
  'apr1',
  'argon2id',
  'argon2i',
  'argon2d',
  'pbkdf2',
  'pbkdf2-sha256',
  'pbkdf2-sha512',
  'scrypt',
  'krb5asrep',
  'krb5tgs',
  'krb5pa',
  'P',
  'H',
];

/** Random enough to be a key's body: letters and digits, not a word identifier. */
export function keyBody(token: string): boolean {
  return /[A-Za-z]/.test(token) && /\d/.test(token) && !wordLike(token);
}

const TOKEN_CHAR = /[A-Za-z0-9_-]/;

/** Two dots seven apart with token characters between and 24 before: a shape test that reads only around the dots of a string. */
function dottedShape(text: string): boolean {
  for (let i = text.indexOf('.', 24); i >= 0 && i + 7 < text.length; i = text.indexOf('.', i + 1)) {
    if (text.charCodeAt(i + 7) !== 46) continue;
    let ok = true;
    for (let j = i - 24; ok && j < i + 7; j++) if (j !== i && !TOKEN_CHAR.test(text[j]!)) ok = false;
    if (ok) return true;
  }
  return false;
}

/** A rule whose every match is the secret, redacted whole. */
function whole(name: string, pattern: string, trigger: string): StringRule {
  return { name, pattern, trigger: [trigger], groups: 0, replace: () => R };
}

export const FORMAT_RULES: StringRule[] = [
  {
    name: 'password_hash',
    // The algorithm stays: an operator can tell a bcrypt hash was there.
    pattern: `(?<![A-Za-z0-9$])(\\$(?:${HASH_IDS.join('|')})\\$)([A-Za-z0-9./+=,*-]{1,128}\\$[A-Za-z0-9./+=,$*-]{8,1024})`,
    trigger: HASH_IDS.map((id) => `$${id.toLowerCase()}$`),
    groups: 2,
    replace: (_m, g) => (/[A-Za-z]/.test(g[1]!) && /\d/.test(g[1]!) ? `${g[0]}${R}` : null),
  },
  {
    // Discord's bot token: base64 of the bot's id, a six-character timestamp, an HMAC.
    name: 'dotted_token',
    pattern: `${tokenStart('A-Za-z0-9_.-')}([A-Za-z0-9_-]{24,26})\\.([A-Za-z0-9_-]{6})\\.([A-Za-z0-9_-]{27,40})(?![A-Za-z0-9-]|\\.(?![a-z]{2,5}(?![A-Za-z0-9_.-])))`,
    trigger: dottedShape,
    groups: 3,
    replace: (_m, g) => (keyBody(g[0]! + g[2]!) ? R : null),
  },
  {
    // curl's `-u user:password` (and --user): the password goes, the user stays.
    name: 'curl_user',
    pattern: '(?<![A-Za-z0-9_-])((?:-u|--user)[ \t]+[^\\s:"\']{1,128}:)([^\\s"\']{1,256})',
    trigger: ['-u ', '--user '],
    groups: 2,
    replace: (_m, g) => (reference(g[1]!) ? null : `${g[0]}${R}`),
  },
  // A Telegram bot's id and its secret.
  whole('telegram_bot_token', '(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{29,40}(?![A-Za-z0-9-])', ':aa'),
  whole('mailchimp_key', '(?<![A-Za-z0-9])[0-9a-f]{32}-us[0-9]{1,2}(?![0-9])', '-us'),
  whole('twitch_stream_key', '(?<![A-Za-z0-9])live_[0-9]{6,12}_[A-Za-z0-9]{30}(?![A-Za-z0-9])', 'live_'),
  // An org id, "!", and the session: Salesforce's access token.
  whole('salesforce_token', '(?<![A-Za-z0-9])00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{80,160}', '00d'),
  {
    // A Microsoft Teams incoming webhook: whoever has the URL can post.
    name: 'teams_webhook',
    pattern: '(https://[a-z0-9-]{1,63}\\.(?:webhook\\.)?office\\.com/webhook(?:b2)?/)[^\\s"\'<>`)\\]]{1,512}',
    trigger: ['office.com/webhook'],
    groups: 1,
    replace: (_m, g) => `${g[0]}${R}`,
  },
  {
    // `-u user -p secret`: docker login, psexec, mysql-style command lines.
    name: 'cli_password',
    pattern: '(?<![A-Za-z0-9_-])(-u +[^\\s]{1,128} +-p +)("[^"\\n]{1,256}"|\'[^\'\\n]{1,256}\'|[^\\s"\']{1,256})',
    trigger: [' -p '],
    groups: 2,
    // A path after -p is a directory or a port mapping's option, not a password.
    replace: (_m, g) => (reference(g[1]!.replace(/^["']/, '')) || /^\.{0,2}\//.test(g[1]!) ? null : `${g[0]}${R}`),
  },
  {
    // `-Password secret`, `--password secret` (PowerShell, CLIs): the flag and its value.
    name: 'password_flag',
    pattern: `(?<![A-Za-z0-9_-])(--?(?:${ci('password')}|${ci('passwd')}|${ci('pwd')}|${ci('pass')}) +)("[^"\\n]{1,256}"|'[^'\\n]{1,256}'|[^\\s"'-][^\\s"']{0,255})(?![^\\s"'])`,
    trigger: ['-pass', '-pwd'],
    groups: 2,
    replace: (_m, g) => (reference(g[1]!.replace(/^["']/, '')) ? null : `${g[0]}${R}`),
  },
  {
    // A netrc entry: `machine host login user password secret`.
    name: 'netrc_password',
    pattern: `(?<![A-Za-z0-9_])(${ci('login')}[ \\t\\r\\n]{1,16}[^\\s]{1,128}[ \\t\\r\\n]{1,16}${ci('password')}[ \\t]{1,16})([^\\s]{1,256})`,
    trigger: ['login'],
    groups: 2,
    replace: (_m, g) => (reference(g[1]!) ? null : `${g[0]}${R}`),
  },
  {
    // A quoted word right after "password" (Gradle's `password 'x'`, SQL's `IDENTIFIED
    // BY`, prose's `the password is "x"`): no "=" or ":" to go by, so one word only.
    name: 'quoted_password',
    pattern: `(?<![A-Za-z0-9_])((?:${ci('password')}|${ci('passwd')}|${ci('passphrase')})(?:[ \\t]+${ci('is')})?[ \\t]+)(?:"([^"\\s]{1,256})"|'([^'\\s]{1,256})')`,
    trigger: ['password', 'passwd', 'passphrase'],
    // One alternative per quote, so the value never holds the other kind of quote.
    groups: 3,
    replace: (_m, g) => {
      const quote = g[1] !== undefined ? '"' : "'";
      return reference(g[1] ?? g[2]!) ? null : `${g[0]}${quote}${R}${quote}`;
    },
  },
  {
    // .NET's credential constructors: (user, password) and (path, user, password).
    name: 'credential_constructor',
    pattern: '((?:NetworkCredential|DirectoryEntry)\\(\\s{0,32}(?:"[^"\\n]{0,256}"\\s{0,32},\\s{0,32}){1,2})"([^"\\n]{1,256})"',
    trigger: ['networkcredential(', 'directoryentry('],
    groups: 2,
    replace: (_m, g) => `${g[0]}"${R}"`,
  },
  {
    // A value assigned to a name that ends in "key" (`softlayer_api_key := …`, `IO_KEY
    // "…"`): the name says what it is, so a placeholder's repeated pattern counts too.
    name: 'named_key',
    // The name is a lookbehind, so the match starts only where a token starts: a name
    // matched from every "_" of a long identifier was polynomial.
    // "=" only as padding at its end: from every "=" of a long base64 run the scan
    // would go on to the run's end.
    pattern:
      '(?<![A-Za-z0-9_+/.-])(?=[A-Za-z0-9][A-Za-z0-9_+/.-]{15})(?<=(?:[_-][kK][eE][yY]|[a-z]Key|[aA][pP][iI][kK][eE][yY])["\']?[ \\t]{0,8}(?::=|=>|[=:])?[ \\t]{0,8}["\']?)([A-Za-z0-9][A-Za-z0-9_+/.-]{15,255}={0,2})(?![A-Za-z0-9_+/=-])',
    trigger: ['key'],
    groups: 1,
    replace: (_m, g) => {
      const value = g[0]!.replace(/\.+$/, '');
      const token = stem(value);
      if (!keyBody(token) || isUuid(token) || fileName(token) || dated(token) || sequential(token)) return null;
      return `${R}${g[0]!.slice(token.length)}`;
    },
  },
];
