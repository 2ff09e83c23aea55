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
 * The run of byte values `v` is likely to vary over in a name: digits, lowercase or uppercase letters, else a
 * block of 16 values. Values in a run get one sub-range each when a position is split finely.
 */
export function runOf(v: number): [number, number] {
  if (v >= 0x30 && v <= 0x39) return [0x30, 0x39];
  if (v >= 0x61 && v <= 0x7a) return [0x61, 0x7a];
  if (v >= 0x41 && v <= 0x5a) return [0x41, 0x5a];
  const start = v & 0xf0;
  return [start, start + 15];
}

const byte = (head: Uint8Array, v: number): Buffer => Buffer.concat([head, Buffer.from([v])]);

/**
 * Every key in [x, endOf(x)) split along `anchor`'s bytes: at each position in `fine` one sub-range per value of
 * the run the anchor's byte belongs to (recursively at the next fine position), keys below or above that run (or
 * leaving the anchor's bytes between fine positions) in one range on each side.
 */
function expand(x: Buffer, fine: readonly number[], anchor: Buffer, out: Span[]): void {
  const f = fine[0];
  if (f === undefined || f >= anchor.length) {
    out.push({ lo: x, hi: endOf(x) });
    return;
  }
  const mid = Buffer.concat([x, anchor.subarray(x.length, f)]);
  const [rs, re] = runOf(anchor[f]);
  const low = byte(mid, rs);
  if (Buffer.compare(x, low) < 0) out.push({ lo: x, hi: low });
  for (let v = rs; v <= re; v++) expand(byte(mid, v), fine.slice(1), anchor, out);
  const high = re < 0xff ? byte(mid, re + 1) : endOf(mid);
  if (high !== null) out.push({ lo: high, hi: endOf(x) });
}

export interface SplitShape {
  /** Positions split into one sub-range per value of the anchor byte's run (ascending). */
  readonly fine: readonly number[];
  /** Positions after this one are not split: keys diverging from the anchor there form one range. */
  readonly mergeAfter?: number;
}

/**
 * Splits [from, hi) — everything after `anchor` (a child just seen; `from` is where its keys end) — into disjoint
 * ranges by where keys diverge from the anchor: one range per position (keys sharing exactly that many bytes with
 * it), finer at the `fine` positions. Every key of [from, hi) lies in exactly one range; positions before `first`
 * are the same for all of them (the common prefix of the range) and are not split. Ranges come out in key order.
 */
export function splitAfter(anchor: Buffer, from: Buffer, hi: Bound, first: number, shape: SplitShape): Span[] {
  const spans: Span[] = [];
  // Keys extending the anchor itself (when the anchor is a key rather than a folder).
  const extension = endOf(anchor);
  if (lessThan(from, extension)) spans.push({ lo: from, hi: extension });
  const fine = new Set(shape.fine);
  let j = anchor.length - 1;
  while (j >= first) {
    if (fine.has(j)) {
      const head = anchor.subarray(0, j);
      const [, re] = runOf(anchor[j]);
      const deeper = shape.fine.filter((f) => f > j);
      for (let v = anchor[j] + 1; v <= re; v++) expand(byte(head, v), deeper, anchor, spans);
      if (re < 0xff) {
        const hiOfHead = endOf(head);
        spans.push({ lo: byte(head, re + 1), hi: hiOfHead });
      }
      j--;
      continue;
    }
    let k = j;
    if (shape.mergeAfter !== undefined && j > shape.mergeAfter) k = Math.max(first, shape.mergeAfter + 1);
    const lo = endOf(anchor.subarray(0, j + 1));
    if (lo !== null) spans.push({ lo, hi: endOf(anchor.subarray(0, k)) });
    j = k - 1;
  }
  return clip(spans, from, hi);
}

/** `spans` cut to [from, hi), empty ones dropped. */
function clip(spans: Span[], from: Buffer, hi: Bound): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    const lo = Buffer.compare(s.lo, from) < 0 ? from : s.lo;
    const end = minBound(s.hi, hi);
    if (lessThan(lo, end)) out.push({ lo, hi: end });
  }
  return out;
}
