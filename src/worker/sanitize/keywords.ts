import escapeStringRegexp from 'escape-string-regexp';

// Every string a worker indexes is scanned once for the keywords that gate the
// sanitizer's rules (gitleaks' per-rule keywords and the own rules' triggers): most
// strings hold none, and then no rule runs on them at all. One alternation of literals
// over the lowercased string, restarted one character after each hit so overlapping
// keywords are all seen, as gitleaks' Aho-Corasick pass sees them.

export class KeywordScanner<T> {
  private readonly regex: RegExp;
  private readonly targets = new Map<string, T[]>();

  constructor(entries: Iterable<readonly [keyword: string, target: T]>) {
    const byWord = new Map<string, Set<T>>();
    for (const [keyword, target] of entries) {
      const word = keyword.toLowerCase();
      const set = byWord.get(word) ?? new Set<T>();
      set.add(target);
      byWord.set(word, set);
    }
    const words = [...byWord.keys()].sort((a, b) => b.length - a.length);
    // At one position the alternation reports only the longest keyword there, so a
    // keyword that is a prefix of it ("token" of "tokens") stands for its targets too.
    for (const word of words) {
      const all = new Set<T>();
      for (const other of words) if (word.startsWith(other)) for (const t of byWord.get(other)!) all.add(t);
      this.targets.set(word, [...all]);
    }
    this.regex = words.length > 0 ? new RegExp(words.map(escapeStringRegexp).join('|'), 'g') : /(?!)/g;
  }

  /** The targets of every keyword in `lower` (a lowercased string); null when it holds none. */
  scan(lower: string): Set<T> | null {
    const regex = this.regex;
    regex.lastIndex = 0;
    let m = regex.exec(lower);
    if (!m) return null;
    const found = new Set<T>();
    for (; m; m = regex.exec(lower)) {
      for (const t of this.targets.get(m[0])!) found.add(t);
      regex.lastIndex = m.index + 1;
    }
    return found;
  }
}
