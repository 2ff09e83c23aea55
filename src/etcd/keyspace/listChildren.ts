import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from '../connection';
import { Bound, FinePosition, Span, SplitShape, commonPrefix, endOf, lessThan, splitAfter } from './partition';
import { RangeAnswer, RangeReader } from './rangeReader';

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
  /** Round trips in flight at once (default 2); each asks up to 128 ranges in one Txn. */
  readonly concurrency?: number;
}

/** `limit` of the first request: small folders are read whole, large ones show a few children and their sizes. */
const FIRST_LIMIT = 1024;
/** Budget of the exploration, beyond which the rest is read keys-only: server visits per key of the folder… */
const VISITS_PER_KEY = 4;
/** …and range requests (at most MAX_QUERIES, fewer for small folders where each request weighs more). */
const MAX_QUERIES = 2000;
const KEYS_PER_QUERY = 8;
/**
 * A range inside a Txn costs about as much as visiting this many keys (~25 µs against ~0.1 µs), so a split makes
 * at most one range per this many keys it covers.
 */
const KEYS_PER_RANGE = 256;
/** Most sub-ranges one split may create, and the most positions of a name split one by one. */
const MAX_SPLIT = 1024;
const MAX_PROFILE = 48;
/** Most ranges of the first split, made before any sibling showed where names differ. */
const MAX_BLIND = 64;
/**
 * Children of at most this many keys are read whole by the range that finds them (no later check that nothing
 * else hides in it); larger ones only show their first key: a key returned costs the client and the server ~50×
 * a key visited.
 */
const SMALL_CHILD = 8;
/**
 * Keys the listing reads on rather than splitting, when that many complete the page: at least READ_ON, or one per
 * KEYS_PER_READ of the folder's keys (a key returned costs ~60 keys visited: about one count of the folder, less
 * than the waves a split would take).
 */
const READ_ON = 1024;
const KEYS_PER_READ = 64;
/** Keys of the first page of the keys-only fallback, and the size of the later ones (under the 64 MiB receive limit). */
const FALLBACK_PAGE = 1024;
const FALLBACK_PAGE_BYTES = 16 * 1024 * 1024;
/** Round trips in flight: the client's decoding and the server's ranges overlap, more would only queue. */
const DEFAULT_CONCURRENCY = 2;

/**
 * Most keys a listing of a folder of `keys` keys makes the server visit (Σ count): the first request, the
 * exploration's budget, the requests already in flight when it runs out (disjoint ranges: at most one visit per
 * key), and the keys-only fallback (a small page, then pages as large as allowed: about two visits per key).
 */
export function visitBound(keys: number): number {
  return (VISITS_PER_KEY + 4) * keys + 2 * FIRST_LIMIT;
}

/** A child found, with the first absolute key after everything that belongs to it. */
interface Found {
  readonly child: KeyspaceChild;
  /** Absolute key of the child (folder prefix or key). */
  readonly abs: Buffer;
  readonly skip: Bound;
}

/** A range still to explore. */
interface Task extends Span {
  readonly limit: number;
  /** The split this range belongs to (to learn the size of the child it followed). */
  readonly parent?: SplitRecord;
}

/** Keys of a range that followed one child: once every part is counted, that child's size is known. */
interface SplitRecord {
  readonly anchor: Found;
  /** Keys of the range from the child's first key on. */
  readonly keys: number;
  parts: number;
  counted: number;
  abandoned: boolean;
  /** Children expected in its parts not answered yet (answered parts count through their own splits). */
  expected: number;
}

/** An answered range whose rest was not explored yet: see Listing.follow. */
interface Parked {
  readonly task: Task;
  readonly answer: RangeAnswer;
  readonly groups: Array<{ found: Found; keys: number }>;
}

/**
 * Immediate children of `prefix` (relative to the namespace), keys-only, at one pinned revision.
 *
 * Cost model (etcd ≤ 3.6, measured on loopback): a range request makes the server visit every key in its range
 * even with a limit (~0.1 µs a key); a round trip through the client costs ~1–2 ms, far more than a small range's
 * own work, but a range inside a Txn only ~20–30 µs; each key returned costs ~5–7 µs (server read, transfer,
 * decode). So the listing never walks child by child (a visit of every key per child) nor reads every key, and it
 * asks each wave of sub-ranges in one Txn. A first request reads a page of keys. After each child it sees, the rest
 * of its range is split into disjoint sub-ranges by where names diverge from that child — one per byte position,
 * and one per likely byte value at positions where siblings were seen to differ (and, when the counts promise more
 * children than that gives, at the position after: names a digit longer) — with limit 1 (or a small child's
 * size): a partition costs one visit per key, empty sub-ranges almost nothing, and each answer's first key is a new
 * child and its count says whether more hide behind it. How finely to split comes from the counts (keys left ÷ the
 * typical size of a child). Sub-ranges are explored left first and nothing past the page is explored. A budget of
 * visits (VISITS_PER_KEY × the folder's keys) and requests bounds the exploration; past it the rest is read
 * keys-only page by page, skipping every folder already seen, so no keyspace costs much more than one keys-only read.
 */
export async function listChildren(conn: EtcdConnection, prefix: Buffer, options: ListOptions): Promise<ChildrenPage> {
  const reader = new RangeReader(conn, {
    revision: options.revision,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    signal: options.signal,
    operation: 'list keys',
  });
  return reader.run(() => new Listing(conn, reader, prefix, options).run());
}

class Listing {
  private readonly separator: Buffer;
  private readonly absPrefix: Buffer;
  private readonly start: Buffer;
  private readonly end: Bound;
  private readonly pageSize: number;
  /** Children found, in key order. */
  private readonly known: Found[] = [];
  private readonly knownIds = new Set<string>();
  /** Absolute byte positions where two children seen next to each other differ, with the bytes seen there. */
  private readonly hot = new Map<number, Set<number>>();
  /** Keys per child, for those whose size is known (a key child is one). */
  private readonly sizes: number[] = [];
  private sortedSizes: number[] | undefined;
  private readonly queue: Task[] = [];
  /** Splits whose parts are out: their ranges, by where they start. */
  private readonly open = new Map<SplitRecord, Buffer>();
  private readonly parked: Parked[] = [];
  private folderKeys = 0;
  private fallback = false;
  private pruned = false;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly reader: RangeReader,
    prefix: Buffer,
    private readonly options: ListOptions,
  ) {
    this.separator = Buffer.from(options.separator, 'utf8');
    this.absPrefix = conn.absoluteKey(prefix);
    this.end = this.absPrefix.length ? endOf(this.absPrefix) : null;
    // etcd rejects an empty key; "\0" is the first possible key.
    this.start = options.after
      ? conn.absoluteKey(options.after)
      : this.absPrefix.length
        ? this.absPrefix
        : Buffer.from([0]);
    this.pageSize = Math.max(1, options.pageSize);
  }

  async run(): Promise<ChildrenPage> {
    const limit = Math.max(FIRST_LIMIT, this.pageSize + 1);
    const first = await this.reader.range(this.start, this.end, { limit });
    this.folderKeys = first.count;
    this.take([{ task: { lo: this.start, hi: this.end, limit }, answer: first }]);
    await this.drain();
    const cutoff = this.cutoff();
    let next: Buffer | undefined;
    if (this.known.length > this.pageSize) next = cutoff ?? undefined;
    else if (this.known.length === this.pageSize && this.pruned && cutoff) {
      // Parts after the page were never asked: say "more" only if something is there.
      if ((await this.reader.range(cutoff, this.end, { limit: 1 })).count > 0) next = cutoff;
    }
    return {
      children: this.known.slice(0, this.pageSize).map((f) => f.child),
      revision: this.reader.revision ?? '0',
      next: next ? this.conn.relativeKey(next) : undefined,
      queries: this.reader.queries,
      visited: this.reader.visited,
      totalKeys: this.options.after ? undefined : first.count,
    };
  }

  /** Where the page ends: after the pageSize-th child found so far (null: not that many yet, or nothing can follow). */
  private cutoff(): Buffer | null {
    return this.known.length >= this.pageSize ? this.known[this.pageSize - 1].skip : null;
  }

  private needed(span: Span): boolean {
    if (this.known.length < this.pageSize) return true;
    const cut = this.cutoff();
    if (cut !== null && lessThan(span.lo, cut)) return true;
    this.pruned = true;
    return false;
  }

  private overBudget(): boolean {
    return (
      this.reader.visited > VISITS_PER_KEY * this.folderKeys + FIRST_LIMIT || this.reader.queries >= this.queryBudget()
    );
  }

  /**
   * Runs queued ranges, left first, until none is left: each round trip asks a share of the queue in one Txn, so a
   * wave of sub-ranges costs one round trip rather than one per range.
   */
  private async drain(): Promise<void> {
    const running = new Set<Promise<void>>();
    const concurrency = Math.max(1, this.options.concurrency ?? DEFAULT_CONCURRENCY);
    while (this.queue.length || running.size || this.parked.length) {
      if (!this.queue.length && !running.size) {
        // Everything to the left is known: explore the leftmost range put aside, if the page still needs it.
        this.parked.sort((a, b) =>
          Buffer.compare(a.groups[a.groups.length - 1].found.abs, b.groups[b.groups.length - 1].found.abs),
        );
        const next = this.parked.shift()!;
        this.follow(next.task, next.answer, next.groups, true);
        continue;
      }
      while (this.queue.length && running.size < concurrency) {
        if (!this.fallback && this.overBudget()) this.fallback = true;
        const share = this.fallback ? 1 : Math.ceil(this.queue.length / (concurrency - running.size));
        const tasks: Task[] = [];
        while (this.queue.length && tasks.length < share) {
          const task = this.queue.shift()!;
          if (this.needed(task)) tasks.push(task);
          else if (task.parent) {
            task.parent.abandoned = true;
            this.open.delete(task.parent);
          }
        }
        if (!tasks.length) continue;
        const work = this.fallback ? this.pageThrough(tasks[0]) : this.explore(tasks);
        const p: Promise<void> = work.finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size) await Promise.race(running);
    }
  }

  private async explore(tasks: Task[]): Promise<void> {
    const answers = await this.reader.batch(tasks.map((t) => ({ from: t.lo, to: t.hi, request: { limit: t.limit } })));
    this.take(tasks.map((task, i) => ({ task, answer: answers[i] })));
  }

  /**
   * Takes in the children of answers, then plans the rest of each answer's range: every child first, so each
   * plan knows where all the names seen so far differ.
   */
  private take(results: Array<{ task: Task; answer: RangeAnswer }>): void {
    const found = results.map(({ task, answer }) => {
      if (task.parent) {
        task.parent.counted += answer.count;
        task.parent.expected = Math.max(0, task.parent.expected - answer.count / (this.typicalSize() ?? 1));
        if (--task.parent.parts === 0) {
          this.open.delete(task.parent);
          if (!task.parent.abandoned) this.learnSize(task.parent);
        }
      }
      const groups = this.collect(answer.kvs);
      for (const g of groups) this.add(g.found);
      // Children followed by another one within the answer are complete: their size is known.
      for (let i = 0; i < groups.length - 1; i++) this.addSize(groups[i].keys);
      return groups;
    });
    results.forEach(({ task, answer }, i) => this.follow(task, answer, found[i]));
  }

  private learnSize(record: SplitRecord): void {
    const size = record.keys - record.counted;
    if (size > 0) this.addSize(size);
  }

  private addSize(size: number): void {
    this.sizes.push(size);
    this.sortedSizes = undefined;
  }

  /** Median keys of a child, when any is known. */
  private typicalSize(): number | undefined {
    if (!this.sizes.length) return undefined;
    this.sortedSizes ??= [...this.sizes].sort((a, b) => a - b);
    return this.sortedSizes[Math.floor(this.sortedSizes.length / 2)];
  }

  /** Plans what an answer left unread in its range: everything after the last child it showed. */
  private follow(
    task: Task,
    answer: RangeAnswer,
    groups: Array<{ found: Found; keys: number }>,
    unparked = false,
  ): void {
    if (!groups.length || answer.count <= answer.kvs.length) return;
    const last = groups[groups.length - 1];
    const from = last.found.skip;
    if (from === null || !lessThan(from, task.hi)) return;
    // Keys of the range from the last child's first key on (its own keys included).
    const keys = answer.count - (answer.kvs.length - last.keys);
    if (!this.needed({ lo: from, hi: task.hi })) return;
    const typical = this.typicalSize();
    // The children expected to its left fill the page: put it aside rather than visit its keys in every wave.
    if (!unparked && typical !== undefined && this.expectedBefore(from) > this.pageSize) {
      this.parked.push({ task, answer, groups });
      return;
    }
    // Few keys complete the page: read on rather than split.
    const missing = this.pageSize - this.known.length + 1;
    const onward = typical === undefined ? Infinity : typical * missing;
    const record = (parts: number, expected: number): SplitRecord => {
      const r: SplitRecord = { anchor: last.found, keys, parts, counted: 0, abandoned: false, expected };
      this.open.set(r, from);
      return r;
    };
    if (onward <= Math.max(READ_ON, this.folderKeys / KEYS_PER_READ) && onward < keys) {
      this.enqueue([{ lo: from, hi: task.hi, limit: onward + 1, parent: record(1, missing) }]);
      return;
    }
    const spans = this.plan(last.found, from, task.hi, keys);
    const limit = typical !== undefined && typical <= SMALL_CHILD ? typical + 1 : 1;
    const parent = record(spans.length, typical === undefined ? 1 : Math.max(1, keys / typical - 1));
    this.enqueue(spans.map((s) => ({ ...s, limit, parent })));
  }

  /** Children known or expected (in splits under way) before `key`. */
  private expectedBefore(key: Buffer): number {
    let lo = 0;
    let hi = this.known.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.known[mid].abs, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    let expected = lo;
    for (const [record, start] of this.open) if (Buffer.compare(start, key) < 0) expected += record.expected;
    return expected;
  }

  /** How to split what follows `anchor` in [from, hi), where `keys` keys are left counting the anchor's own. */
  private plan(anchor: Found, from: Buffer, hi: Bound, keys: number): Span[] {
    const name = anchor.abs;
    // Positions before `first` are the same for every key in [anchor, hi).
    const first = Math.max(this.absPrefix.length, hi === null ? 0 : commonPrefix(name, hi));
    const typical = this.typicalSize();
    const following = typical === undefined ? undefined : keys / typical - 1;
    // About one more child: one range for all of it (its answer says whether more follow).
    if (following !== undefined && following <= 1.5)
      return splitAfter(name, from, hi, first, { fine: [], mergeAfter: first - 1 });
    const hot = [...this.hot.keys()].filter((p) => p >= first && p < name.length).sort((a, b) => a - b);
    // Nothing known to vary here: one range per position, whose answers show where names diverge.
    if (!hot.length && following === undefined) return splitUnknown(name, from, hi, first);
    // Children still wanted: those expected here, no more than the page lacks.
    const wanted = following === undefined ? undefined : Math.min(following, this.pageSize - this.known.length + 1);
    const cap = Math.min(
      MAX_SPLIT,
      Math.floor(this.queriesLeft() / 2),
      Math.max(16, Math.ceil(keys / KEYS_PER_RANGE)),
      wanted === undefined ? 64 : Math.max(16, Math.ceil(3 * wanted)),
    );
    // Finer at each position where siblings were seen to differ, most significant first; then, while the
    // children expected outnumber the ranges, at the positions right after them (names one byte longer). Digits
    // get a range each (numbers enumerate), other bytes where they were seen (gaps between share ranges).
    const seenAnywhere = new Set<number>();
    for (const values of this.hot.values()) for (const v of values) seenAnywhere.add(v);
    const valuesAt = (p: number): number[] => {
      const out = new Set<number>();
      for (const v of [name[p], ...(this.hot.get(p) ?? seenAnywhere)]) for (const c of valuesLike(v)) out.add(c);
      return [...out].sort((a, b) => a - b);
    };
    const candidates = [...hot];
    if (following !== undefined) {
      const last = hot.length ? hot[hot.length - 1] : first - 1;
      for (let p = last + 1; p < name.length && candidates.length < hot.length + 2; p++) candidates.push(p);
    }
    let best: Span[] | undefined;
    const fine: FinePosition[] = [];
    for (const p of candidates) {
      const next = [...fine, { at: p, values: valuesAt(p) }];
      // Every combination of the fine positions' values when that fits, else the first position's values alone.
      let spans = splitAfter(name, from, hi, first, { fine: next, mergeAfter: p });
      if (spans.length > cap)
        spans = splitAfter(name, from, hi, first, { fine: next, mergeAfter: p, sparseFirst: true });
      if (best && spans.length > cap) break;
      if (best && !hot.includes(p) && wanted !== undefined && best.length >= wanted) break;
      best = spans;
      fine.push(next[next.length - 1]);
    }
    return best ?? splitProfile(name, from, hi, first);
  }

  private queryBudget(): number {
    return Math.min(MAX_QUERIES, 64 + Math.ceil(this.folderKeys / KEYS_PER_QUERY));
  }

  private queriesLeft(): number {
    return Math.max(16, this.queryBudget() - this.reader.queries);
  }

  private enqueue(tasks: Task[]): void {
    // Left first: the page is the first children in key order.
    for (const t of tasks) {
      let i = this.queue.length;
      while (i > 0 && Buffer.compare(this.queue[i - 1].lo, t.lo) > 0) i--;
      this.queue.splice(i, 0, t);
    }
  }

  /**
   * Fallback past the budget: reads [lo, hi) keys-only, skipping every folder seen. The first page is small; once
   * its count tells how many keys are left, the rest comes in pages as large as FALLBACK_PAGE_BYTES allows, so a
   * range costs about one keys-only read of it (visits ≤ ~2 per key) whatever its shape.
   */
  private async pageThrough(task: Task): Promise<void> {
    let cursor: Bound = task.lo;
    let limit = FALLBACK_PAGE;
    while (cursor !== null && lessThan(cursor, task.hi) && this.needed({ lo: cursor, hi: task.hi })) {
      const answer = await this.reader.range(cursor, task.hi, { limit });
      if (!answer.kvs.length) return;
      const groups = this.collect(answer.kvs);
      for (const g of groups) this.add(g.found);
      if (answer.count <= answer.kvs.length) return;
      cursor = groups[groups.length - 1].found.skip;
      const bytesPerKey = answer.kvs.reduce((n, kv) => n + kv.key.length + 32, 0) / answer.kvs.length;
      limit = Math.max(
        FALLBACK_PAGE,
        Math.min(answer.count - answer.kvs.length, Math.floor(FALLBACK_PAGE_BYTES / bytesPerKey)),
      );
    }
  }

  /** Children of sorted keys, each with the number of keys of it in `kvs`. */
  private collect(kvs: IKeyValue[]): Array<{ found: Found; keys: number }> {
    const out: Array<{ found: Found; keys: number }> = [];
    for (const kv of kvs) {
      const last = out[out.length - 1];
      // Sorted keys below a folder's end are inside it.
      if (last && last.found.child.kind === 'folder' && lessThan(kv.key, last.found.skip)) {
        last.keys++;
        continue;
      }
      out.push({ found: this.childOf(kv), keys: 1 });
    }
    return out;
  }

  private childOf(kv: IKeyValue): Found {
    const key = kv.key;
    const rest = key.subarray(this.absPrefix.length);
    const cut = this.separator.length ? rest.indexOf(this.separator) : -1;
    if (cut < 0) {
      const meta: KeyMeta = {
        createRevision: kv.create_revision,
        modRevision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
      };
      return {
        child: { kind: 'key', key: this.conn.relativeKey(key), name: rest, meta },
        abs: key,
        skip: Buffer.concat([key, Buffer.from([0])]),
      };
    }
    const folder = key.subarray(0, this.absPrefix.length + cut + this.separator.length);
    return {
      child: {
        kind: 'folder',
        key: this.conn.relativeKey(folder),
        name: rest.subarray(0, cut + this.separator.length),
      },
      abs: folder,
      skip: endOf(folder),
    };
  }

  /** Records a child (once), learning where it differs from its neighbours and with which bytes. */
  private add(found: Found): void {
    const id = found.abs.toString('latin1') + (found.child.kind === 'key' ? '\u0001k' : '\u0001f');
    if (this.knownIds.has(id)) return;
    this.knownIds.add(id);
    let lo = 0;
    let hi = this.known.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(this.known[mid].abs, found.abs) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (const neighbour of [this.known[lo - 1], this.known[lo]]) {
      if (!neighbour) continue;
      const at = commonPrefix(neighbour.abs, found.abs);
      if (at < this.absPrefix.length) continue;
      let seen = this.hot.get(at);
      if (!seen) this.hot.set(at, (seen = new Set()));
      for (const name of [neighbour.abs, found.abs]) if (at < name.length) seen.add(name[at]);
    }
    this.known.splice(lo, 0, found);
  }
}

/** Byte values a name seen with `v` at some position may have there: every digit for a digit, else `v`. */
function valuesLike(v: number): readonly number[] {
  return v >= 0x30 && v <= 0x39 ? DIGITS : [v];
}
const DIGITS: readonly number[] = Array.from({ length: 10 }, (_, i) => 0x30 + i);

/**
 * One range per position of `name` from `first` on (keys sharing exactly that many bytes with it), at most
 * MAX_PROFILE of them: the positions closest to the name's end are merged into one range beyond that.
 */
function splitProfile(name: Buffer, from: Buffer, hi: Bound, first: number, shape?: Partial<SplitShape>): Span[] {
  const positions = name.length - first;
  const mergeAfter = positions <= MAX_PROFILE ? undefined : first + MAX_PROFILE - 1;
  return splitAfter(name, from, hi, first, { fine: [], ...shape, mergeAfter });
}

/**
 * The first split, when nothing is known of the names: the profile, and one range per digit at the positions of
 * the name that hold digits (numbered names: a1/ after a0/), as many such positions as fit in MAX_BLIND ranges.
 */
function splitUnknown(name: Buffer, from: Buffer, hi: Bound, first: number): Span[] {
  let best = splitProfile(name, from, hi, first);
  const fine: FinePosition[] = [];
  for (let p = first; p < name.length && p < first + MAX_PROFILE; p++) {
    if (name[p] < 0x30 || name[p] > 0x39) continue;
    const next = [...fine, { at: p, values: DIGITS }];
    let spans = splitProfile(name, from, hi, first, { fine: next });
    if (spans.length > MAX_BLIND) spans = splitProfile(name, from, hi, first, { fine: next, sparseFirst: true });
    if (spans.length > MAX_BLIND) break;
    best = spans;
    fine.push(next[next.length - 1]);
  }
  return best;
}
