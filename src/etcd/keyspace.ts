import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from './connection';
import { prefixEnd } from './keyCodec';

/** One immediate child of a folder: a key, or a folder (a prefix ending in the separator). */
export interface KeyspaceChild {
  readonly kind: 'key' | 'folder';
  /** Full key (or folder prefix, separator included) relative to the connection's namespace. */
  readonly key: Buffer;
  /** The segment shown in the tree: the child's bytes after the parent prefix. */
  readonly name: Buffer;
  /** Metadata of a key child, which keys-only ranges return for free. */
  readonly meta?: KeyMeta;
}

/** A key's metadata without its value. Revisions and lease ids stay decimal strings (64-bit). */
export interface KeyMeta {
  readonly createRevision: string;
  readonly modRevision: string;
  readonly version: string;
  /** "0" when the key has no lease. */
  readonly lease: string;
}

export interface ChildrenPage {
  readonly children: KeyspaceChild[];
  /** Revision every query of this listing was pinned to. */
  readonly revision: string;
  /** Where the next page starts (relative key), when the folder has more children than were asked for. */
  readonly next?: Buffer;
  /** Range requests sent. */
  readonly queries: number;
  /** Σ `count` of every range response: the keys the server visited to answer this listing. */
  readonly visited: number;
  /** Keys under the folder, when the listing learned it (the first query of a first page counts them all). */
  readonly totalKeys?: number;
}

export interface ListOptions {
  readonly separator: string;
  readonly pageSize: number;
  /** Continue a listing: the `next` of the previous page. */
  readonly after?: Buffer;
  /** Pin to a revision (the previous page's) so pages are consistent. */
  readonly revision?: string;
  readonly signal?: AbortSignal;
  /** Range requests in flight at once (default 8). */
  readonly concurrency?: number;
}

/** Largest `limit` sent; larger pages are read in several requests. */
const MAX_LIMIT = 2048;
/**
 * Sub-ranges of a range with at most SMALL_PARENT keys ask for up to SPAN_LIMIT keys, so each usually comes
 * back whole in one request; sub-ranges of bigger ranges ask for 2 keys (enough to tell one big folder from
 * several children). Every request costs a round trip (~1 ms here) and every key returned costs decoding,
 * while a key the server merely counts is ~100× cheaper: this balances the three.
 */
const SPAN_LIMIT = 1024;
const SMALL_PARENT = 16 * SPAN_LIMIT;
/** Sub-ranges explored at once before checking the page budget (requests are throttled separately). */
const SPANS_PER_ROUND = 32;
/** Children returned per key above which a range is treated as mostly leaves and read page by page. */
const LEAFY_RATIO = 0.25;

/** An upper bound for ranges; `null` means "to the end of the keyspace" (etcd's range_end "\0"). */
type Bound = Buffer | null;

interface Found {
  child: KeyspaceChild;
  /** First absolute key after everything that belongs to this child (`null`: nothing can follow). */
  skip: Bound;
}

interface Explored {
  found: Found[];
  /** Set when the budget ran out: nothing at or after this absolute key was explored. */
  truncatedAt?: Buffer;
}

const lessThan = (key: Buffer, bound: Bound): boolean => bound === null || Buffer.compare(key, bound) < 0;
const minBound = (a: Bound, b: Bound): Bound => (a === null ? b : b === null ? a : Buffer.compare(a, b) <= 0 ? a : b);

/**
 * Immediate children of `prefix` (relative to the namespace), keys-only, at one pinned revision.
 *
 * On etcd ≤ 3.6 a range costs the server O(keys in [key, range_end)) even with `limit: 1`, because it counts
 * them. So the listing steers by `count`: a first request reads a page of keys; when the folder is mostly
 * leaves it simply pages on; when its children are big folders, the rest of the range is split at the byte
 * where sibling names diverge into a bounded set of disjoint sub-ranges, queried in parallel and refined
 * recursively. Every key below the folder is then visited about twice instead of once per child (skip-scan)
 * or fully transferred (whole-subtree reads). Never reads values; never sends a sort order (etcd ≤ 3.6 then
 * ignores the limit and reads the whole range).
 */
export async function listChildren(conn: EtcdConnection, prefix: Buffer, options: ListOptions): Promise<ChildrenPage> {
  const separator = Buffer.from(options.separator, 'utf8');
  const absPrefix = conn.absoluteKey(prefix);
  const end: Bound = absPrefix.length ? nullIfOpen(prefixEnd(absPrefix)) : null;
  // etcd rejects an empty key; "\0" is the first possible key.
  const start = options.after ? conn.absoluteKey(options.after) : absPrefix.length ? absPrefix : Buffer.from([0]);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const pageSize = Math.max(1, options.pageSize);
  let revision = options.revision;
  let queries = 0;
  let visited = 0;
  let totalKeys: number | undefined;
  let inFlight = 0;
  const waiting: Array<() => void> = [];

  return conn.call(
    'list keys',
    async (client) => {
      /** One keys-only range request, throttled to `concurrency` in flight. */
      const range = async (from: Buffer, to: Bound, limit: number) => {
        if (options.signal?.aborted) throw new DOMException('aborted', 'AbortError');
        while (inFlight >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
        inFlight++;
        try {
          const res = await client.kv.range({
            key: from,
            range_end: to ?? Buffer.from([0]),
            keys_only: true,
            limit,
            ...(revision ? { revision } : {}),
          });
          queries++;
          visited += Number(res.count);
          revision ??= res.header.revision;
          return { keys: res.kvs, count: Number(res.count) };
        } finally {
          inFlight--;
          waiting.shift()?.();
        }
      };

      const childOf = (kv: IKeyValue): Found => {
        const key = kv.key;
        const rest = key.subarray(absPrefix.length);
        const cut = separator.length ? rest.indexOf(separator) : -1;
        if (cut < 0) {
          const meta: KeyMeta = { createRevision: kv.create_revision, modRevision: kv.mod_revision, version: kv.version, lease: kv.lease };
          return { child: { kind: 'key', key: conn.relativeKey(key), name: rest, meta }, skip: Buffer.concat([key, Buffer.from([0])]) };
        }
        const folder = key.subarray(0, absPrefix.length + cut + separator.length);
        return {
          child: { kind: 'folder', key: conn.relativeKey(folder), name: rest.subarray(0, cut + separator.length) },
          skip: nullIfOpen(prefixEnd(folder)),
        };
      };

      /** Children of the keys returned (sorted), in order, each once. */
      const collect = (kvs: IKeyValue[], into: Found[]): void => {
        for (const kv of kvs) {
          const last = into[into.length - 1];
          // Sorted keys below the previous folder's skip bound are inside that folder.
          if (last && last.child.kind === 'folder' && lessThan(kv.key, last.skip)) continue;
          into.push(childOf(kv));
        }
      };

      /** Reads [from, to) page by page (mostly leaves), until it ends or `budget` children were found. */
      const pageThrough = async (from: Buffer, to: Bound, budget: number, found: Found[]): Promise<Explored> => {
        let cursor: Bound = from;
        while (cursor !== null && lessThan(cursor, to)) {
          if (found.length >= budget) return { found, truncatedAt: cursor };
          const limit = Math.min(MAX_LIMIT, Math.max(64, budget - found.length + 1));
          const res = await range(cursor, to, limit);
          collect(res.keys, found);
          if (res.count <= res.keys.length) return { found };
          cursor = found[found.length - 1].skip;
        }
        return { found };
      };

      /**
       * All children with keys in [from, to), up to `budget`. `limit` is what the first request asks for.
       */
      const explore = async (from: Buffer, to: Bound, budget: number, limit: number): Promise<Explored> => {
        const first = await range(from, to, limit);
        if (from === start && !options.after) totalKeys = first.count;
        if (first.count === 0) return { found: [] };
        const found: Found[] = [];
        collect(first.keys, found);
        if (first.count <= first.keys.length) return { found: found.slice(0, budget), truncatedAt: truncation(found, budget) };
        const cursor = found[found.length - 1].skip;
        if (cursor === null || !lessThan(cursor, to)) return { found };
        if (found.length >= budget) return { found: found.slice(0, budget), truncatedAt: truncation(found, budget) };
        if (found.length > 1 && found.length >= first.keys.length * LEAFY_RATIO) {
          return pageThrough(cursor, to, budget, found);
        }
        // The keys returned all fell in one or few big folders: split what is left at the diverging byte.
        for (const spans of chunk(splitRange(cursor, to, absPrefix.length), SPANS_PER_ROUND)) {
          // Sub-ranges of a small range are fetched whole in one request each; those of a big one are probed.
          const limit = first.count <= SMALL_PARENT ? SPAN_LIMIT : 2;
          const parts = await Promise.all(spans.map(([a, b]) => explore(a, b, budget - found.length, limit)));
          for (const part of parts) {
            found.push(...part.found);
            if (part.truncatedAt) return { found: found.slice(0, budget), truncatedAt: part.truncatedAt };
            if (found.length >= budget) {
              const next = truncation(found, budget);
              return { found: found.slice(0, budget), truncatedAt: next };
            }
          }
        }
        return { found };
      };

      const result = await explore(start, end, pageSize, Math.min(MAX_LIMIT, Math.max(SPAN_LIMIT, pageSize + 1)));
      let truncatedAt = result.truncatedAt;
      // A page ends exactly at pageSize: only say "more" if something is left after it.
      if (truncatedAt && !(await range(truncatedAt, end, 1)).count) truncatedAt = undefined;
      return {
        children: result.found.map((f) => f.child),
        revision: revision ?? '0',
        next: truncatedAt ? conn.relativeKey(truncatedAt) : undefined,
        queries,
        visited,
        totalKeys,
      };
    },
    options.signal,
  );
}

/** Where the next page starts when `found` is cut to `budget` entries. */
function truncation(found: Found[], budget: number): Buffer | undefined {
  if (found.length < budget) return undefined;
  const skip = found[budget - 1].skip;
  return skip ?? undefined;
}

function nullIfOpen(bound: Buffer): Bound {
  return bound.length === 1 && bound[0] === 0 ? null : bound;
}

function* chunk<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Splits [from, to) into disjoint sub-ranges at the positions where keys after `from` can diverge from it:
 * the last three byte positions of `from` (beyond the folder prefix) each get one sub-range per likely byte
 * value (the run of digits, lowercase or uppercase letters the byte belongs to, else 16 values) plus one for
 * the rest; everything before those positions is one coarse range. Ranges that are empty cost the server
 * nothing; non-empty ones are refined by the caller.
 */
export function splitRange(from: Buffer, to: Bound, prefixLength: number): Array<[Buffer, Bound]> {
  const spans: Array<[Buffer, Bound]> = [];
  const last = from.length - 1;
  const firstPos = Math.max(prefixLength, last - 2);
  for (let j = last; j >= firstPos; j--) {
    const head = from.subarray(0, j);
    const lo = j === last ? from[j] : from[j] + 1;
    if (lo > 0xff) continue;
    const blockEnd = head.length ? nullIfOpen(prefixEnd(head)) : null;
    const hi = runEnd(lo);
    for (let v = lo; v <= hi; v++) {
      const a = v === lo && j === last ? from : Buffer.concat([head, Buffer.from([v])]);
      const b = v === 0xff ? blockEnd : Buffer.concat([head, Buffer.from([v + 1])]);
      spans.push([a, b]);
    }
    if (hi < 0xff) spans.push([Buffer.concat([head, Buffer.from([hi + 1])]), blockEnd]);
  }
  if (firstPos > prefixLength) {
    const coarse = nullIfOpen(prefixEnd(from.subarray(0, firstPos)));
    if (coarse !== null) spans.push([coarse, null]);
  }
  // Clip to [from, to) and drop what falls outside.
  const clipped: Array<[Buffer, Bound]> = [];
  for (const [a, b] of spans) {
    const start = Buffer.compare(a, from) < 0 ? from : a;
    const stop = minBound(b, to);
    if (lessThan(start, stop)) clipped.push([start, stop]);
  }
  return clipped;
}

/** Last byte value of the run `v` belongs to: digits, lowercase, uppercase, else a block of 16. */
function runEnd(v: number): number {
  if (v >= 0x30 && v <= 0x39) return 0x39;
  if (v >= 0x61 && v <= 0x7a) return 0x7a;
  if (v >= 0x41 && v <= 0x5a) return 0x5a;
  return Math.min(0xff, v + 15);
}
