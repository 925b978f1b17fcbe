import { shannon } from './catalogue.js';

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
    if (piece.length >= 4 && pronounceable(piece.toLowerCase())) wordy += piece.length;
  }
  return letters >= 0.6 * token.length && wordy >= 0.75 * letters;
}

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

/** A report key's time after the function's name (`get_token_2026-12-07T10:00:00.123456`). */
export const REPORT_KEY_TIME = /_\d{4}-\d\d-\d\d(?:T[\d:.]*)?$/;

/** Holds a date (`get_token_2026-12-07T10`): a name with its time, as report keys are. */
export function dated(token: string): boolean {
  return /\d{4}-\d{2}-\d{2}/.test(token);
}

/** A pattern, not random: four characters that come back three times (`abcd1234abcd1234abcd…`). */
export function repetitive(token: string): boolean {
  const seen = new Map<string, number>();
  const lower = token.toLowerCase();
  for (let i = 0; i + 4 <= lower.length; i++) {
    const gram = lower.slice(i, i + 4);
    const n = (seen.get(gram) ?? 0) + 1;
    if (n >= 3) return true;
    seen.set(gram, n);
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
