import type { IKeyValue } from 'etcd3';
import { Bound, lessThan } from './partition';
import { RangeAnswer, RangeReader } from './rangeReader';

/** Keys of the first request of a byte-bounded scan: 32 × 1.5 MiB < 64 MiB. */
const FIRST_BOUNDED_LIMIT = 32;

/** What the ordered scan needs of a {@link RangeReader} (a fake one in unit tests). */
export type Ranger = Pick<RangeReader, 'range' | 'revision'>;

export interface OrderedScanOptions {
  /** Keys per request at most (memory holds about `inFlight` of these). */
  readonly pageSize: number;
  /** Bytes per request at most (keys + values, estimated from the keys read so far); default unbounded. */
  readonly pageBytes?: number;
  /** Read values too (export); otherwise keys-only. */
  readonly values?: boolean;
  /** Ranges read ahead at once (default 4). */
  readonly inFlight?: number;
}

/**
 * Every key in [start, end) in key order, a page at a time, at the reader's pinned revision, with bounded memory.
 *
 * Plain paging costs O(n²/page) on etcd ≤ 3.6 (each page's range counts every key after it). Instead the first
 * answer gives the count; what follows the keys read is cut into disjoint ranges expected to hold half a page each,
 * sized from the density of the keys just read (their width in byte space), read `inFlight` ahead and yielded in
 * order. An empty range widens the next ones twofold (gaps between clusters of keys); a range holding more than a
 * page is itself cut the same way from its own density. Each key is visited by the first count and its range, plus
 * once per range too wide for a page that held it: on random names < 3 times, on decimal sequences (whose density in
 * byte space jumps at every carry) ~5 times for a million keys — against ~n/page for plain paging. Requests overlap
 * the caller's work on the previous page.
 */
export async function* orderedScan(
  reader: Ranger,
  start: Buffer,
  end: Bound,
  options: OrderedScanOptions,
): AsyncGenerator<IKeyValue[]> {
  const pageSize = Math.max(2, options.pageSize);
  // Sizes are unknown until something is read: a bounded page asks for few keys first, few enough that values of
  // the server's largest size (1.5 MiB by default) fit the client's 64 MiB receive limit. An answer over it is
  // refused by the client, and etcd3 retries that until the endpoint's circuit breaker opens.
  const first = await reader.range(start, end, {
    limit: options.pageBytes ? Math.min(pageSize, FIRST_BOUNDED_LIMIT) : pageSize,
    values: options.values,
  });
  yield first.kvs;
  // Later requests ask for as many keys as fit in pageBytes at the size of those read.
  let limit = pageSize;
  if (options.pageBytes && first.kvs.length) {
    const bytes = first.kvs.reduce((n, kv) => n + kv.key.length + (kv.value?.length ?? 0) + 32, 0) / first.kvs.length;
    limit = Math.max(2, Math.min(pageSize, Math.floor(options.pageBytes / bytes)));
  }
  yield* rest(reader, start, end, first, { limit, values: options.values }, Math.max(1, options.inFlight ?? 4));
}

interface Ahead {
  readonly lo: Buffer;
  readonly hi: Bound;
  readonly answer: Promise<RangeAnswer>;
}

/** The keys of [lo, hi) after those `answer` returned (the first of the range), in order. */
async function* rest(
  reader: Ranger,
  lo: Buffer,
  hi: Bound,
  answer: RangeAnswer,
  request: { limit: number; values?: boolean },
  inFlight: number,
): AsyncGenerator<IKeyValue[]> {
  let left = answer.count - answer.kvs.length;
  if (left <= 0 || !answer.kvs.length) return;
  const lastKey = answer.kvs[answer.kvs.length - 1].key;
  let cursor: Bound = Buffer.concat([lastKey, Buffer.from([0])]);
  const space = new ByteSpace(lo, hi, answer.kvs);
  // Width of half a page at the density just read.
  let width = space.widthFor(answer.kvs, request.limit / 2, cursor, hi);
  const queue: Ahead[] = [];
  let planned = 0;
  try {
    while (left > 0) {
      while (queue.length < inFlight && cursor !== null && lessThan(cursor, hi) && planned < left) {
        const to: Bound = space.add(cursor, width, hi);
        queue.push({ lo: cursor, hi: to, answer: reader.range(cursor, to, request) });
        planned += request.limit / 2;
        cursor = to;
      }
      const head = queue.shift();
      // Every range up to `hi` was read: the count promised more keys than the ranges held.
      if (!head) throw new Error(`ordered scan: ${left} keys counted but not found (revision ${reader.revision})`);
      const got = await head.answer;
      planned = Math.max(0, planned - request.limit / 2);
      if (got.kvs.length) yield got.kvs;
      left -= got.kvs.length;
      if (got.count > got.kvs.length) {
        // Denser than expected: cut this range's rest from its own density, before anything after it.
        for await (const page of rest(reader, head.lo, head.hi, got, request, inFlight)) {
          yield page;
          left -= page.length;
        }
        width = space.widthFor(got.kvs, request.limit / 2, cursor ?? head.lo, hi);
      } else if (got.count === 0) {
        width *= 2n;
      } else {
        width = space.widthOf(head.lo, head.hi, got.count, request.limit / 2, width);
      }
    }
  } finally {
    // Answers read ahead but not needed (the count said nothing is left) must not reject unobserved.
    for (const q of queue) q.answer.catch(() => undefined);
  }
}

/** Keys as big numbers of a fixed number of bytes, to cut ranges by width. */
class ByteSpace {
  private readonly bytes: number;

  constructor(lo: Buffer, hi: Bound, kvs: IKeyValue[]) {
    let longest = Math.max(lo.length, hi?.length ?? 0);
    for (const kv of kvs) longest = Math.max(longest, kv.key.length);
    this.bytes = Math.min(longest + 4, 512);
  }

  num(key: Buffer): bigint {
    const padded = Buffer.alloc(this.bytes);
    key.copy(padded, 0, 0, Math.min(key.length, this.bytes));
    return BigInt(`0x${padded.toString('hex')}`);
  }

  key(n: bigint): Buffer {
    const hex = n.toString(16).padStart(this.bytes * 2, '0');
    const buf = Buffer.from(hex, 'hex');
    let end = buf.length;
    while (end > 1 && buf[end - 1] === 0) end--;
    return buf.subarray(0, end);
  }

  /** `from` + `width`, at least one step past `from`, never past `hi`. */
  add(from: Buffer, width: bigint, hi: Bound): Bound {
    const limit = hi === null ? (1n << BigInt(8 * this.bytes)) - 1n : this.num(hi);
    const at = this.num(from) + (width > 0n ? width : 1n);
    if (at >= limit) return hi;
    const key = this.key(at);
    return Buffer.compare(key, from) > 0 && lessThan(key, hi) ? key : hi;
  }

  /** Width holding `target` keys at the density of `kvs`, or half the rest when they have no width. */
  widthFor(kvs: IKeyValue[], target: number, from: Buffer, hi: Bound): bigint {
    const span = this.num(Buffer.concat([kvs[kvs.length - 1].key, Buffer.from([0])])) - this.num(kvs[0].key);
    if (span > 0n && kvs.length > 1) return (span * BigInt(Math.ceil(target))) / BigInt(kvs.length);
    const limit = hi === null ? 1n << BigInt(8 * this.bytes) : this.num(hi);
    return (limit - this.num(from)) / 2n || 1n;
  }

  /** Width holding `target` keys where [lo, hi) held `count`. */
  widthOf(lo: Buffer, hi: Bound, count: number, target: number, fallback: bigint): bigint {
    if (hi === null) return fallback;
    const span = this.num(hi) - this.num(lo);
    return span > 0n ? (span * BigInt(Math.ceil(target))) / BigInt(count) || 1n : fallback;
  }
}
