import { prefixEnd } from '../keyCodec';

/** An upper bound for ranges; `null` means "to the end of the keyspace" (etcd's range_end "\0"). */
export type Bound = Buffer | null;

/** A half-open key range [lo, hi). */
export interface Span {
  readonly lo: Buffer;
  readonly hi: Bound;
}

export const lessThan = (key: Buffer, bound: Bound): boolean => bound === null || Buffer.compare(key, bound) < 0;

export const minBound = (a: Bound, b: Bound): Bound =>
  a === null ? b : b === null ? a : Buffer.compare(a, b) <= 0 ? a : b;

/** First key after every key starting with `prefix`, or `null` when nothing can follow. */
export function endOf(prefix: Uint8Array): Bound {
  return isOpen(prefix) ? null : prefixEnd(prefix);
}

/** True when no key can follow every key starting with `prefix` (empty or all 0xff). */
function isOpen(prefix: Uint8Array): boolean {
  for (const b of prefix) if (b !== 0xff) return false;
  return true;
}

/** Length of the common prefix of two byte strings. */
export function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * The byte values a name is likely to vary over, given one it was seen with: its class for digits, lowercase and
 * uppercase letters, else the value alone.
 */
export function classOf(v: number): readonly number[] {
  if (isDigit(v)) return DIGITS;
  if (v >= 0x61 && v <= 0x7a) return (LOWER ??= run(0x61, 0x7a));
  if (v >= 0x41 && v <= 0x5a) return (UPPER ??= run(0x41, 0x5a));
  return [v];
}
export const isDigit = (v: number): boolean => v >= 0x30 && v <= 0x39;
const isPunctuation = (v: number): boolean => v === 0x2d || v === 0x2e || v === 0x5f || v === 0x3a;
const isLetter = (v: number): boolean => (v >= 0x61 && v <= 0x7a) || (v >= 0x41 && v <= 0x5a);

/**
 * The first position in [from, stop) right after a letter and a punctuation mark (`-`, `.`, `_`, `:`) of `name`
 * where the token that starts there (up to the next punctuation mark) is not all digits; none past a digit: names
 * with a number before such a word (`api001.iad2.example.net`) differ at the number, which splits enumerate anyway,
 * and a wide range per byte after `example.` combined with every digit found nothing (the model's /ts/: 4.10 → 3.94
 * visits per key, nothing else moved).
 */
export function afterWord(name: Buffer, from: number, stop: number): number | undefined {
  for (let p = Math.max(from, 2); p < stop; p++) {
    if (isDigit(name[p - 1])) return undefined;
    if (!isPunctuation(name[p - 1]) || !isLetter(name[p - 2])) continue;
    for (let q = p; q < stop && !isPunctuation(name[q]); q++) if (!isDigit(name[q])) return p;
  }
  return undefined;
}

/** The byte values a to b, ascending. */
const run = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
/** The ASCII digits, ascending. */
export const DIGITS: readonly number[] = run(0x30, 0x39);
/** Lowercase hex digits, ascending. */
export const HEX_DIGITS: readonly number[] = [...DIGITS, ...run(0x61, 0x66)];
const isHexDigit = (v: number): boolean => isDigit(v) || (v >= 0x61 && v <= 0x66);

/**
 * Whether the token of `name` from `from` (up to a punctuation mark or `stop`) is a hex id: at least 4 lowercase hex
 * digits, a decimal digit among them (so that a word like `cafe` or `dead` is not one).
 */
export function isHexId(name: Buffer, from: number, stop: number): boolean {
  let n = 0;
  let decimal = false;
  for (let p = from; p < stop && !isPunctuation(name[p]); p++, n++) {
    if (!isHexDigit(name[p])) return false;
    decimal ||= isDigit(name[p]);
  }
  return n >= 4 && decimal;
}
let LOWER: readonly number[] | undefined;
let UPPER: readonly number[] | undefined;

/** `head` followed by the byte `v` (one allocation: splits build thousands of these). */
function byte(head: Uint8Array, v: number): Buffer {
  const out = Buffer.allocUnsafe(head.length + 1);
  out.set(head);
  out[head.length] = v;
  return out;
}

/** A position split into one sub-range per value of `values` (ascending, distinct); other values share ranges. */
export interface FinePosition {
  readonly at: number;
  readonly values: readonly number[];
  /**
   * Keys with one of `values` here are not split further along the anchor's later bytes: they differ from it
   * already (a position split on every byte seen — words, hex — rather than one where names share a pattern, as
   * numbers do).
   */
  readonly alone?: boolean;
}

export interface SplitShape {
  /** Positions split finely, ascending. */
  readonly fine: readonly FinePosition[];
  /** Positions after this one are not split: keys diverging from the anchor there form one range. */
  readonly mergeAfter?: number;
  /**
   * Keys diverging from the anchor at the first fine position get one range per value, not split further: names
   * are rarely spread over every leading digit, and an answer shows which ones are.
   */
  readonly sparseFirst?: boolean;
  /** No fine position is split further at deeper ones: one range per value per position, however many positions. */
  readonly flat?: boolean;
  /**
   * Keys between the listed values of a position share the range of the value that follows them rather than a
   * range of their own: fewer ranges, each still showing a child when it holds one (its first key is the listed
   * value's unless a name has a byte between them there).
   */
  readonly lean?: boolean;
}

/**
 * Where a split's ranges go: each cut to [from, hi) (empty ones dropped), at most `max` of them — past that the
 * split stops (so that a caller comparing shapes never builds the billions of ranges of a rejected one).
 */
class Sink {
  readonly spans: Span[] = [];
  /** With `lean`, a gap waiting for the range after it (ranges come contiguous, in key order). */
  private pending: Span | undefined;

  constructor(
    private readonly from: Buffer,
    private readonly hi: Bound,
    private readonly max: number,
    private readonly lean = false,
  ) {}

  push(lo: Buffer, hi: Bound): void {
    const span = this.clip(lo, hi);
    if (!span) return this.flush();
    this.add(this.pending ? { lo: this.pending.lo, hi: span.hi } : span);
    this.pending = undefined;
  }

  /** Keys between the ranges of interest: a range of their own, or with `lean` part of the next one. */
  gap(lo: Buffer, hi: Bound): void {
    if (!this.lean) return this.push(lo, hi);
    const span = this.clip(lo, hi);
    if (span) this.pending = this.pending ? { lo: this.pending.lo, hi: span.hi } : span;
  }

  /** A gap nothing followed becomes a range of its own. */
  flush(): void {
    if (this.pending) this.add(this.pending);
    this.pending = undefined;
  }

  private clip(lo: Buffer, hi: Bound): Span | undefined {
    const start = Buffer.compare(lo, this.from) < 0 ? this.from : lo;
    const end = minBound(hi, this.hi);
    return lessThan(start, end) ? { lo: start, hi: end } : undefined;
  }

  private add(span: Span): void {
    this.spans.push(span);
    if (this.spans.length > this.max) throw TOO_MANY;
  }

  /** True when [lo, hi) holds no key of [from, hi). */
  outside(lo: Buffer, hi: Bound): boolean {
    return !lessThan(lo, this.hi) || (hi !== null && Buffer.compare(hi, this.from) <= 0);
  }
}
const TOO_MANY = new Error('too many ranges');

/**
 * Pushes ranges covering the keys of [head + lo-byte, endOf(head)) whose byte after `head` is ≥ `lo`: one range
 * per value of `values` from `lo` on (split further by `then`), the values between and after them in shared ranges.
 */
function fanOut(head: Buffer, lo: number, values: readonly number[], then: (x: Buffer) => void, out: Sink): void {
  let next = lo;
  for (const v of values) {
    if (v < lo) continue;
    if (next < v) out.gap(byte(head, next), byte(head, v));
    then(byte(head, v));
    next = v + 1;
  }
  if (next <= 0xff) out.gap(byte(head, next), endOf(head));
}

/**
 * Every key in [x, endOf(x)) split along `anchor`'s bytes: at each fine position one sub-range per listed value
 * (recursively at the next fine position), keys leaving the anchor's bytes between fine positions in one range on
 * each side.
 */
function expand(x: Buffer, fine: readonly FinePosition[], anchor: Buffer, out: Sink): void {
  const f = fine[0];
  const end = endOf(x);
  if (f === undefined || f.at >= anchor.length || out.outside(x, end)) {
    out.push(x, end);
    return;
  }
  const mid = Buffer.concat([x, anchor.subarray(x.length, f.at)]);
  // Keys below mid, and mid itself (with `lean`, part of the next range: names rarely stop short there).
  out.gap(x, byte(mid, 0));
  fanOut(mid, 0, f.values, (y) => expand(y, f.alone ? [] : fine.slice(1), anchor, out), out);
  const after = endOf(mid);
  if (after !== null && mid.length > x.length) out.push(after, end);
}

/**
 * Splits [from, hi) — everything after `anchor` (a child just seen; `from` is where its keys end) — into disjoint
 * ranges by where keys diverge from the anchor: one range per position (keys sharing exactly that many bytes with
 * it), finer at the `fine` positions. Every key of [from, hi) lies in exactly one range; positions before `first`
 * are the same for all of them (the common prefix of the range) and are not split. Ranges come out in key order.
 * With `max`, a split that would make more ranges stops at max + 1 of them (only their number tells anything).
 */
export function splitAfter(
  anchor: Buffer,
  from: Buffer,
  hi: Bound,
  first: number,
  shape: SplitShape,
  max = Infinity,
): Span[] {
  const out = new Sink(from, hi, max, shape.lean);
  try {
    // Keys extending the anchor itself (when the anchor is a key rather than a folder).
    out.push(from, endOf(anchor));
    const fine = new Map(shape.fine.map((f) => [f.at, f]));
    let j = anchor.length - 1;
    while (j >= first) {
      const f = fine.get(j);
      if (f) {
        const deeper =
          shape.flat || f.alone || (shape.sparseFirst && f === shape.fine[0]) ? [] : shape.fine.filter((d) => d.at > j);
        if (anchor[j] < 0xff)
          fanOut(anchor.subarray(0, j), anchor[j] + 1, f.values, (x) => expand(x, deeper, anchor, out), out);
        // Gaps share the range of a value that follows them at the same position, never the range of keys that
        // diverge earlier (often most of the keys: each wave would find one child in it).
        out.flush();
        j--;
        continue;
      }
      let k = j;
      if (shape.mergeAfter !== undefined && j > shape.mergeAfter) k = Math.max(first, shape.mergeAfter + 1);
      const lo = endOf(anchor.subarray(0, j + 1));
      if (lo !== null) out.push(lo, endOf(anchor.subarray(0, k)));
      j = k - 1;
    }
    out.flush();
  } catch (err) {
    if (err !== TOO_MANY) throw err;
  }
  return out.spans;
}
