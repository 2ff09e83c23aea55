/** Deterministic PRNG (mulberry32) in [0, 1): the same seed gives the same sequence on every run and machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Keys of a metrics store by host: `<root><word><NNN>.<dc>.example.net/<ms timestamp>`, 300 hosts (five words, three
 * data centres) of 500–5,500 points each (~870k keys with seed 103).
 */
export function* hostSeries(root: string, rand: () => number): Generator<string> {
  const pick = (xs: readonly string[]) => xs[Math.floor(rand() * xs.length)];
  for (let h = 0; h < 300; h++) {
    const host = `${pick(['web', 'db', 'cache', 'api', 'q'])}${String(h).padStart(3, '0')}.${pick(['fra1', 'iad2', 'sin1'])}.example.net`;
    const n = 500 + Math.floor(rand() * 5000);
    let t = 1764547200000 + Math.floor(rand() * 1e6);
    for (let i = 0; i < n; i++) yield `${root}${host}/${(t += 1000 + Math.floor(rand() * 50))}`;
  }
}

/** `n` characters drawn from `alphabet` (small letters by default). */
export function randomLetters(rand: () => number, n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz'): string {
  return Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

/** A word of 3 to 10 small letters, as people name things. */
export function randomWord(rand: () => number): string {
  return randomLetters(rand, 3 + Math.floor(rand() * 8));
}

/**
 * `count` distinct namespace names as a grown cluster has them: `<word>-<word>` pairs, `preview-<hex>`, `pr-<number>`
 * (the last two share a leading "pr") and single words, drawn with the cumulative shares `pairs`, `previews` and `prs`
 * (the rest words, of `word`). In insertion order: rank them by it for Zipf-like sizes.
 */
export function namespaceNames(
  rand: () => number,
  count: number,
  pairs: number,
  previews: number,
  prs: number,
  word: (rand: () => number) => string = randomWord,
): string[] {
  const names = new Set<string>();
  while (names.size < count) {
    const r = rand();
    names.add(
      r < pairs
        ? `${word(rand)}-${word(rand)}`
        : r < previews
          ? `preview-${randomLetters(rand, 6, '0123456789abcdef')}`
          : r < prs
            ? `pr-${1000 + Math.floor(rand() * 9000)}`
            : word(rand),
    );
  }
  return [...names];
}

/** `count` namespace names of random letters (4 to 13), a quarter `preview-<hex>`, a tenth `pr-<number>`. */
export function letterNamespaces(rand: () => number, count: number): string[] {
  return namespaceNames(rand, count, 0, 0.25, 0.35, (r) => randomLetters(r, 4 + Math.floor(r() * 10)));
}

/** Keys of each of `count` children by rank for Zipf-like sizes (rank r ~ 1/r) adding up to about `total`. */
export function zipfSizes(count: number, total: number, min = 2): number[] {
  let harmonic = 0;
  for (let rank = 1; rank <= count; rank++) harmonic += 1 / rank;
  return Array.from({ length: count }, (_, i) => Math.max(min, Math.floor(total / harmonic / (i + 1))));
}
