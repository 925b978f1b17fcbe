// Every string a worker indexes is scanned once for the keywords that gate the
// sanitizer's rules (gitleaks' per-rule keywords and the own rules' triggers): most
// strings hold none, and then no rule runs on them at all. The scan is an Aho-Corasick
// automaton, as in gitleaks, so it reads each character once and sees overlapping
// keywords and keywords inside longer ones. One regex alternation of every keyword,
// which irregexp backtracks through at each position, was among the worker's most
// expensive functions in profiles.

export class KeywordScanner<T> {
  /** Character code → column of `next`; 0 for a character no keyword holds. */
  private readonly classes = new Uint16Array(0x10000);
  private readonly width: number;
  /** The automaton's transitions, one row of `width` states per state; state 0 is the root. */
  private readonly next: Int32Array;
  /** Targets of every keyword that ends at each state, its suffixes' included. */
  private readonly outputs: (readonly T[] | undefined)[];

  constructor(entries: Iterable<readonly [keyword: string, target: T]>) {
    const words = new Map<string, Set<T>>();
    for (const [keyword, target] of entries) {
      const word = keyword.toLowerCase();
      if (word.length === 0) continue;
      const set = words.get(word) ?? new Set<T>();
      set.add(target);
      words.set(word, set);
    }
    let width = 1;
    for (const word of words.keys()) {
      for (let i = 0; i < word.length; i++) {
        const code = word.charCodeAt(i);
        if (this.classes[code] === 0) this.classes[code] = width++;
      }
    }
    this.width = width;

    // The trie, then breadth-first failure links folded into full transitions.
    const trie: Map<number, number>[] = [new Map()];
    const own: (Set<T> | undefined)[] = [undefined];
    for (const [word, targets] of words) {
      let state = 0;
      for (let i = 0; i < word.length; i++) {
        const c = this.classes[word.charCodeAt(i)]!;
        let to = trie[state]!.get(c);
        if (to === undefined) {
          to = trie.length;
          trie.push(new Map());
          own.push(undefined);
          trie[state]!.set(c, to);
        }
        state = to;
      }
      own[state] = targets;
    }
    const next = new Int32Array(trie.length * width);
    const fail = new Int32Array(trie.length);
    const outputs: (T[] | undefined)[] = new Array(trie.length);
    const queue: number[] = [];
    for (const [c, to] of trie[0]!) {
      next[c] = to;
      queue.push(to);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      const inherited = outputs[fail[state]!];
      const mine = own[state];
      outputs[state] = mine ? [...new Set([...mine, ...(inherited ?? [])])] : inherited;
      for (let c = 1; c < width; c++) {
        const to = trie[state]!.get(c);
        if (to === undefined) next[state * width + c] = next[fail[state]! * width + c]!;
        else {
          fail[to] = next[fail[state]! * width + c]!;
          next[state * width + c] = to;
          queue.push(to);
        }
      }
    }
    this.next = next;
    this.outputs = outputs;
  }

  /** The targets of every keyword in `lower` (a lowercased string); null when it holds none. */
  scan(lower: string): Set<T> | null {
    const { classes, next, outputs, width } = this;
    let found: Set<T> | null = null;
    let state = 0;
    for (let i = 0; i < lower.length; i++) {
      state = next[state * width + classes[lower.charCodeAt(i)]!]!;
      const out = outputs[state];
      if (out === undefined) continue;
      found ??= new Set<T>();
      for (const t of out) found.add(t);
    }
    return found;
  }
}
