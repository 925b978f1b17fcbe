// What a token that looks like a secret is when it is none (issue #33): each test a
// rule with its reason, shared by every rule that judges a token by its shape alone
// (families.ts, the AWS secret key's shape in patterns.ts).

const VOWELS = new Set('aeiouy');

/**
 * Made of words: an identifier (CamelCase, snake_case, kebab-case) or a sentence, such as
 * `ReportGeneratorServiceFactoryBuilderImpl123` or `PREfix_helloworld380_testin_long`.
 * Its letters are cut at case changes and at anything not a letter; a piece is
 * word-like when it is pronounceable (a share of vowels English words have, no long
 * run of consonants). Random tokens cut so fall into short or unpronounceable pieces.
 * Word-like when such pieces of 4 letters or more hold most of the token's letters (of
 * 3, random text has too many: AWS's own example key would pass).
 */
export function wordLike(token: string): boolean {
  const pieces = token.split(/[^A-Za-z]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/);
  let letters = 0;
  let wordy = 0;
  for (const piece of pieces) {
    letters += piece.length;
    const lower = piece.toLowerCase();
    if (piece.length >= 4 ? pronounceable(lower) : SHORT_WORDS.has(lower)) wordy += piece.length;
  }
  return letters >= 0.6 * token.length && wordy >= 0.75 * letters;
}

// Words of two or three letters that names are made of (`my-tokens_are-correct`,
// `#add-password`): a random token's short pieces are rarely among them, and even then
// most of its letters are in pieces that are no word.
const SHORT_WORDS = new Set(
  'a an the to of in on at by for is are was be it its as or and not no my me we us our you he she his her do if so up go new get set add put use all any too can has had off out key id api url app log run max min old top end one two ten via per'.split(
    ' ',
  ),
);

function pronounceable(piece: string): boolean {
  let vowels = 0;
  let run = 0;
  for (const c of piece) {
    if (VOWELS.has(c)) {
      vowels++;
      run = 0;
    } else if (++run > 3) return false;
  }
  const share = vowels / piece.length;
  return share >= 0.2 && share <= 0.7;
}

/** Base64 of text: what it decodes to is printable, and mostly words and spaces (a payload, not a key). */
export function base64Prose(token: string): boolean {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token) || token.length < 16) return false;
  const decoded = Buffer.from(token.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
  if (decoded.length === 0) return false;
  let printable = 0;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09) printable++;
  }
  return printable >= 0.95 * decoded.length && /[A-Za-z]{3,}[ ,.:;{}"-]/.test(decoded);
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A UUID: codecarbon's run and experiment ids, request ids. */
export function isUuid(token: string): boolean {
  return UUID.test(token);
}

const EXTENSION = /\.[a-z]{2,5}$/;

/** A file's name or path: it ends in an extension of letters (`emissions_20261207_100000.json`). */
export function fileName(token: string): boolean {
  return EXTENSION.test(token);
}

/**
 * A token without the extension a file named after it carries (`<token>.log` in a path
 * label): the name is judged, and the extension stays as text.
 */
export function stem(token: string): string {
  const ext = EXTENSION.exec(token);
  return ext ? token.slice(0, ext.index) : token;
}

const TIME_SUFFIX = /^_\d{4}-\d\d-\d\d(?:T[\d:.]*)?$/;

/**
 * Where the time after a name starts (a report key: `get_token_2026-12-07T10:00:00.123456`),
 * or -1: the sanitizer reads the name alone, since a token's rule would take the "_"
 * and the date's digits for more of the token.
 */
export function timeSuffix(text: string): number {
  const last = text.charCodeAt(text.length - 1);
  if (!(last >= 48 && last <= 57)) return -1;
  const at = text.lastIndexOf('_');
  return at > 0 && TIME_SUFFIX.test(text.slice(at)) ? at : -1;
}

// A reference to a value kept elsewhere, as shells, code and templates write them: a
// whole $name (no digit: `$ecret99` is more likely a password), ${…}, $(cmd), #{name},
// %VAR%, <%= … %>, a $name indexed or followed by a path (`\$_POST["pwd"]`,
// `$BASE_URL/login`), or names run together (`$super$ecret`).
const REFERENCE = /^(?:\$[A-Za-z_]+$|\$[({]|#\{|%[A-Za-z_]+%|<%|\\?\$[A-Za-z_][A-Za-z0-9_]*(?:\[|\/)|(?:\$[A-Za-z_]+){2,}$)/;

/** `$VAR`, `%VAR%`, `${VAR}`, `$(cmd)`, `$_POST[…]`: a value kept elsewhere, not the secret itself. */
export function reference(value: string): boolean {
  return REFERENCE.test(value.replace(/^["']|["']$/g, ''));
}

/** Holds a date (`get_token_2026-12-07T10`): a name with its time, as report keys are. */
export function dated(token: string): boolean {
  return /\d{4}-\d{2}-\d{2}/.test(token);
}

/**
 * A pattern, not random: four characters that come back three times (`abcd1234abcd1234abcd…`),
 * or eight that come back once (`checking_Length-Is-checking_Length-Is-`).
 */
export function repetitive(token: string): boolean {
  const seen = new Map<string, number>();
  const long = new Set<string>();
  const lower = token.toLowerCase();
  for (let i = 0; i + 4 <= lower.length; i++) {
    const gram = lower.slice(i, i + 4);
    const n = (seen.get(gram) ?? 0) + 1;
    if (n >= 3) return true;
    seen.set(gram, n);
    if (i + 8 <= lower.length) {
      const eight = lower.slice(i, i + 8);
      if (long.has(eight)) return true;
      long.add(eight);
    }
  }
  return false;
}

/**
 * A placeholder written as a run of the alphabet or the digits, up or down, plain or
 * interleaved ("ABCDEFGHIJKL", "0123456789", "a1b2c3d4e5f6", "d4c3b2a1"): so many steps
 * of one in a row do not happen in a random token.
 */
export function sequential(token: string): boolean {
  const t = token.toLowerCase();
  for (const stride of [1, 2]) {
    for (const dir of [1, -1]) {
      let run = 0;
      for (let i = stride; i < t.length; i++) {
        run = t.charCodeAt(i) - t.charCodeAt(i - stride) === dir && /[a-z0-9]/.test(t[i]!) ? run + 1 : 0;
        if (run >= (stride === 1 ? 7 : 6)) return true;
      }
    }
  }
  return false;
}

/**
 * A placeholder typed by hand as a walk along the alphabet and the digits, in short runs
 * that start over (`a1b2c3d4…`, `d4c3b2a1-f6e5-h8g7`): most characters one step from the
 * one before or the one before that. A random token has such a step at about one
 * character in five (hex) or ten. A block repeated to a length (`abcd1234abcd1234…`) is
 * no walk: it is how test suites fill a key's exact length (repetitive).
 */
export function typedWalk(token: string): boolean {
  const t = token.toLowerCase();
  let steps = 0;
  let pairs = 0;
  for (let i = 1; i < t.length; i++) {
    if (!ALNUM.test(t[i]!) || !ALNUM.test(t[i - 1]!)) continue;
    pairs++;
    if (oneStep(t, i, 1) || (i >= 2 && ALNUM.test(t[i - 2]!) && oneStep(t, i, 2))) steps++;
  }
  return pairs >= 15 && steps >= 0.6 * pairs && !repetitive(token);
}

const ALNUM = /[a-z0-9]/;
const DIGIT = /[0-9]/;

function oneStep(t: string, i: number, by: number): boolean {
  const d = t.charCodeAt(i) - t.charCodeAt(i - by);
  return (d === 1 || d === -1) && DIGIT.test(t[i]!) === DIGIT.test(t[i - by]!);
}

/**
 * Could `token` be a secret by its shape, with nothing else to go by? Long enough, more
 * random than a word (a floor of Shannon entropy measured on the corpora, where the
 * placeholders and repeated letters of examples fall below), letters with digits or both
 * cases, and none of the look-alikes above.
 */
export function randomToken(token: string, minLength = 16): boolean {
  if (token.length < minLength) return false;
  const digit = /\d/.test(token);
  const upper = /[A-Z]/.test(token);
  const lower = /[a-z]/.test(token);
  if (!((digit && (upper || lower)) || (upper && lower && token.length >= 20))) return false;
  if (shannon(token) < ENTROPY_FLOOR) return false;
  return !isUuid(token) && !fileName(token) && !dated(token) && !repetitive(token) && !wordLike(token) && !base64Prose(token);
}

/** Bits per character below which a token is a placeholder or a pattern, not a key. */
export const ENTROPY_FLOOR = 3;

/** Shannon entropy in bits per character, as gitleaks computes it. */
export function shannon(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
