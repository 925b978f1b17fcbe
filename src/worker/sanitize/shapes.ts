// The shapes of the secrets that have no literal part (sanitizer triggers, patterns.ts):
// cheap tests that a string could hold one, before any rule's regex reads it.

function charClass(chars: string): Uint8Array {
  const set = new Uint8Array(128);
  for (const c of chars) set[c.charCodeAt(0)] = 1;
  return set;
}
const BASE64 = charClass('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+');
const CARD_CHARS = charClass('0123456789 -');

function inSet(text: string, i: number, set: Uint8Array): boolean {
  const c = text.charCodeAt(i);
  return c < 128 && set[c] === 1;
}

/** Where the run of `set` characters through `i` ends. */
function runEnd(text: string, i: number, set: Uint8Array): number {
  while (i < text.length && inSet(text, i, set)) i++;
  return i;
}

/**
 * Where the first run of at least `min` characters of `set` at or after `at` starts,
 * or -1. Such a run holds one of the positions at+min-1, at+2·min-1, …: only where
 * those are in the set is a run measured, so most text is not read character by
 * character. (Written without closures: with them it was as slow as reading it all.)
 */
function runStart(text: string, at: number, min: number, set: Uint8Array): number {
  let end = at;
  for (let j = at + min - 1; j < text.length; j += min) {
    if (j < end || !inSet(text, j, set)) continue;
    let from = j;
    while (from > end && inSet(text, from - 1, set)) from--;
    end = runEnd(text, j + 1, set);
    if (end - from >= min) return from;
  }
  return -1;
}

/**
 * Does the text hold a run of exactly 40 base64 characters with an upper-case letter, a
 * lower-case one and a digit (the aws_secret_key rule's shape)? Any run of 40 or more
 * woke every rule for a path in a traceback (/opt/app/src/components/...).
 */
export function awsSecretShape(text: string): boolean {
  for (let from = runStart(text, 0, 40, BASE64); from >= 0; ) {
    const to = runEnd(text, from, BASE64);
    if (to - from === 40 && upperLowerDigit(text, from, to)) return true;
    from = runStart(text, to, 40, BASE64);
  }
  return false;
}

function upperLowerDigit(text: string, from: number, to: number): boolean {
  let upper = false;
  let lower = false;
  let digit = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) upper = true;
    else if (c >= 97 && c <= 122) lower = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  return upper && lower && digit;
}

/**
 * Does the text hold a 2-6 followed by 12 more digits, with at most one space or dash
 * between two digits (the card_number rule's shape)? Looked for in runs of digits,
 * spaces and dashes long enough to hold one, from the first 2-6 of each stretch of
 * digits, which has the most digits after it.
 */
export function cardDigitRun(text: string): boolean {
  for (let from = runStart(text, 0, 13, CARD_CHARS); from >= 0; ) {
    const to = runEnd(text, from, CARD_CHARS);
    let after = -1;
    let digit = false;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        if (after >= 0) {
          if (++after >= 12) return true;
        } else if (c >= 50 && c <= 54) after = 0;
        digit = true;
      } else if (digit) digit = false;
      else after = -1;
    }
    from = runStart(text, to, 13, CARD_CHARS);
  }
  return false;
}
