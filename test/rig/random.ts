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

/** `n` characters drawn from `alphabet` (small letters by default). */
export function randomLetters(rand: () => number, n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz'): string {
  return Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

/** A word of 3 to 10 small letters, as people name things. */
export function randomWord(rand: () => number): string {
  return randomLetters(rand, 3 + Math.floor(rand() * 8));
}
