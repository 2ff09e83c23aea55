import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from '../connection';
import {
  Bound,
  DIGITS,
  FinePosition,
  HEX_DIGITS,
  Span,
  SplitShape,
  afterWord,
  commonPrefix,
  endOf,
  isDigit,
  isHexId,
  lessThan,
  splitAfter,
} from './partition';
import { isNamespaceName, namespacePartition, namespaceSources, readNamespaces, underRegistry } from './namespaceHint';
import { BATCH_OPS, RangeAnswer, RangeReader } from './rangeReader';

/** One immediate child of a folder: a key, or a folder (a prefix ending in the separator). */
export interface KeyspaceChild {
  readonly kind: 'key' | 'folder';
  /** Full key (or folder prefix, separator included) relative to the connection's namespace. */
  readonly key: Buffer;
  /** The segment shown in the tree: the child's bytes after the parent prefix. */
  readonly name: Buffer;
  /** Metadata of a key child, which keys-only ranges return for free. */
  readonly meta?: KeyMeta;
  /**
   * Keys under a folder child, when the listing saw every one of them (at its revision): a hint for listing that
   * folder (ListOptions.expectedKeys), not kept current.
   */
  readonly keys?: number;
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
  /** Round trips: Txns of ranges, and ranges asked alone. */
  readonly trips: number;
  /** Σ `count` of every range response: the keys the server visited to answer this listing. */
  readonly visited: number;
  /** Keys the answers carried (each costs the server, the wire and the client far more than a key visited). */
  readonly returned: number;
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
  /** Round trips in flight at once (default 2); each asks up to 128 ranges in one Txn, a wave spread over them. */
  readonly concurrency?: number;
  /**
   * Start with the folder's split on its leading byte (default): its two halves on the server's two cores, then a
   * first request over only the leftmost buckets (see firstAnswers). Off: one first request over the whole folder,
   * as a listing with one request in flight does. Tests pin it where they count requests.
   */
  readonly leadingSplit?: boolean;
  /**
   * Keys the caller expects under the folder (its parent's listing saw them all): a folder of at most SMALL_FOLDER
   * keys is read by one first request, without the leading split (which saves a visit of every key but costs a
   * round trip more).
   */
  readonly expectedKeys?: number;
}

/** See ListOptions.expectedKeys: below this many keys a visit of the folder costs less than a round trip (~3 ms). */
const SMALL_FOLDER = 8192;

/** The leading byte the two halves of the leading-byte split meet at: names start about as often either side of it. */
const HALF_AT = 0x6d; // 'm'
/** `limit` of the first request: small folders are read whole, large ones show a few children and their sizes. */
const FIRST_LIMIT = 1024;
/**
 * Budget of the exploration, beyond which the rest is read keys-only, in keys visited per key of the folder, a
 * range request counted as RANGE_COST keys visited (~25 µs against ~0.3–0.5 µs): the exploration then costs at
 * most about half of one keys-only read of the folder (~6 µs a key returned; less with the server's cores sharing
 * a wave), and past it the fallback reads what is left. A tighter budget reads more keys where names are hard to
 * split (the tenth bench shape: 4 visits per key and 2,000 requests left 250k of 650k keys to the fallback, 2.9 s
 * against 1.8 s with this one).
 */
const EXPLORATION_COST = 8;
const RANGE_COST = 50;
/** Range requests at most (fewer for small folders, where each request weighs more). */
const MAX_QUERIES = 10_000;
const KEYS_PER_QUERY = 8;
/** Requests the exploration's splits share out (see requestShare), and the fewest ranges a split may have. */
const SOFT_QUERIES = 2400;
const MIN_SPLIT = 16;
/**
 * A split makes at most one range per this many keys it covers (at least 16 ranges): its ranges then cost at most
 * about a fifth of the keys it visits (a range weighs RANGE_COST keys visited).
 */
const KEYS_PER_RANGE = 256;
/** Most sub-ranges one split may create, and the most positions of a name split one by one. */
const MAX_SPLIT = 1024;
const MAX_PROFILE = 48;
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
/** How much more a read-on that fell short reads next. */
const READ_ON_GROWTH = 4;
/**
 * A read-on whose range holds this many times the keys it read, and at least 1/HEAVY_SHARE of the folder, was eaten by
 * large children: what is left is spread over parts (see follow), split as if about SPREAD_CHILDREN children followed.
 */
const EATEN = 32;
const HEAVY_SHARE = 32;
const SPREAD_CHILDREN = 8;
/** Keys of the first page of the keys-only fallback, and the size of the later ones (under the 64 MiB receive limit). */
const FALLBACK_PAGE = 1024;
const FALLBACK_PAGE_BYTES = 16 * 1024 * 1024;
/** Bytes a key costs in an answer beyond its own (metadata and framing): sizes the fallback's pages. */
const KEY_OVERHEAD = 32;
/** Child sizes this many times apart (10th to 90th percentile) make a range's keys a poor guide to its children. */
const UNEVEN = 8;
/**
 * A range of at most 1/SKIP_SHARE of the folder's keys (or two typical children) is asked whole again, not split.
 * 512 → 256 cut the model's tenth events 2,633 → 2,207 requests, pods 2,649 → 2,319 (visits and time the same);
 * 256 → 128 (after the hex pairs) cut them 2,126 → 1,773 and 2,191 → 1,842, the API dump's 3,953 → 3,310, for
 * 2–5 % more keys visited (tenth pods 3.23 → 3.38 per key) and +3–4 % modelled time there.
 */
const SKIP_SHARE = 128;
/**
 * Keys per namespace a folder needs for its partition by namespaces (two ranges each, ~100 keys visited) to cost
 * less than exploring it (a few visits per key).
 */
const KEYS_PER_NAMESPACE = 32;
/** Round trips in flight: the client's decoding and the server's ranges overlap, more would only queue. */
const DEFAULT_CONCURRENCY = 2;
/**
 * A part of a split holding more than this share of the split's keys: the split did not cut where its names
 * differ, so its own split starts with the first position where they may (the API server dump of the model's shapes:
 * 6.9 → 5.3 × the floor; nothing else moved).
 */
const STUBBORN = 0.1;
/** Children known from which a wide position is split on the bytes seen near it rather than every byte seen. */
const POSITIONAL_AFTER = 8;
/** Children known up to which a split may spend twice as many ranges per child it should find (see rangesPerChild). */
const EARLY_CHILDREN = 64;
/** A range put aside holding at least 1/HEAVY_PARKED of the folder's keys is resumed early (see resumeHeavy). */
const HEAVY_PARKED = 16;

/**
 * Most keys a listing of a folder of `keys` keys makes the server visit (Σ count): the first request, the
 * exploration's budget, the requests already in flight when it runs out (disjoint ranges: at most one visit per
 * key), and the keys-only fallback (a small page, then pages as large as allowed: about two visits per key).
 */
export function visitBound(keys: number): number {
  return (EXPLORATION_COST + 4) * keys + 2 * FIRST_LIMIT;
}

/** A child found, with the first absolute key after everything that belongs to it. */
interface Found {
  readonly child: KeyspaceChild;
  /** Absolute key of the child (folder prefix or key). */
  readonly abs: Buffer;
  readonly skip: Bound;
}

/** A child an answer showed, with the keys of it the answer held. */
interface Group {
  readonly found: Found;
  keys: number;
}

/** A range still to explore. */
interface Task extends Span {
  readonly limit: number;
  /** A range the keys-only fallback reads page by page (`limit` is its page). */
  readonly page?: boolean;
  /** A range read on to complete the page (see follow). */
  readonly readOn?: boolean;
  /** A part of a read-on spread over parts (see follow): never spread again. */
  readonly spread?: boolean;
  /** A range asked whole, expected to hold about one more child (read on, asked again, or a split of one range). */
  readonly again?: boolean;
  /** The split this range belongs to (to learn the size of the child it followed). */
  readonly parent?: SplitRecord;
  /** Exactly one namespace's folder (see takeNamespaces): its answer counts that child whole. */
  readonly namespace?: boolean;
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
  /** Parts it was split into, and the children expected in them then. */
  readonly total: number;
  estimate: number;
  /** Parts answered so far. */
  answered: number;
  /** Σ √count over the parts answered (0 while none held a key): how its children are shared out (see following). */
  roots: number;
}

/** An answered range whose rest was not explored yet: see Listing.follow. */
interface Parked {
  readonly task: Task;
  readonly answer: RangeAnswer;
  readonly groups: Group[];
}

/**
 * Immediate children of `prefix` (relative to the namespace), keys-only, at one pinned revision.
 *
 * Cost model (etcd ≤ 3.6, measured on loopback): a range request makes the server visit every key in its range
 * even with a limit (~0.1 µs a key); a round trip through the client costs ~1–2 ms, far more than a small range's
 * own work, but a range inside a Txn only ~20–30 µs; each key returned costs ~5–7 µs (server read, transfer,
 * decode); a Txn's ranges run one after another on one server thread. So the listing never walks child by child
 * (a visit of every key per child) nor reads every key, and it asks each wave of sub-ranges in Txns spread over the
 * round trips in flight (every server core works on it), its answers planned from together.
 * The folder's split on its leading byte comes first (its two halves on two server cores), then a first request
 * reads a page of keys from the leftmost buckets. After each child it sees, the rest of its range is split into
 * disjoint sub-ranges by where names diverge from that child — one per byte position, finer at chosen positions: those
 * where siblings were seen to differ, the first position where the range's keys may differ (on every byte seen:
 * most keys after the ones seen differ there first), the child's separator (ranges then end where a child ends),
 * the positions right after the varying ones (names a byte longer) and the child's digits, the last of each run
 * first (numbers change at their right end) — with limit 1 (or a small child's size): a partition costs one visit
 * per key, empty sub-ranges almost nothing, and each answer's first key is a new child and its count says whether
 * more hide behind it. How finely to split comes from the counts (keys left ÷ the typical size of a child) and the
 * request budget. Sub-ranges are explored left first and nothing past the page is explored. A budget of keys
 * visited and requests (EXPLORATION_COST × the folder's keys, a request counted as RANGE_COST keys) bounds the
 * exploration; past it the rest is read keys-only page by page, skipping every folder already seen, so no keyspace
 * costs much more than one keys-only read.
 */
export async function listChildren(conn: EtcdConnection, prefix: Buffer, options: ListOptions): Promise<ChildrenPage> {
  const reader = new RangeReader(conn, {
    revision: options.revision,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    signal: options.signal,
    operation: 'list keys',
    spread: true,
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
  /** Every byte seen in the keys returned so far, after the prefix: what a name may hold anywhere. */
  private readonly alphabet = new Set<number>();
  /** The bytes children's names were seen with at each absolute position. */
  private readonly bytesAt = new Map<number, Set<number>>();
  /** Keys per child, for those whose size is known (a key child is one), ascending. */
  private readonly sizes: number[] = [];
  /** Keys of the folder children seen whole, by absolute key (latin1). */
  private readonly complete = new Map<string, number>();
  private readonly queue: Task[] = [];
  /** Splits whose parts are out: their ranges, by where they start. */
  private readonly open = new Map<SplitRecord, Buffer>();
  private readonly parked: Parked[] = [];
  private folderKeys = 0;
  /** Bytes of a key in an answer (key + KEY_OVERHEAD), as seen in the first one. */
  private keyBytes = 64;
  /** Ranges asked and not answered yet. */
  private inFlight = 0;
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
    const first = await this.firstAnswers(limit);
    this.folderKeys = first.keys;
    if (first.answer.kvs.length)
      this.keyBytes = first.answer.kvs.reduce((n, kv) => n + kv.key.length + KEY_OVERHEAD, 0) / first.answer.kvs.length;
    const namespaces = await this.namespaces(first.answer);
    if (namespaces) this.takeNamespaces(namespaces.groups, namespaces.names);
    else if (first.buckets && first.keys > first.answer.kvs.length)
      this.takeBuckets({ ...first.answer, count: first.keys }, first.buckets);
    else this.take([{ task: { lo: this.start, hi: this.end, limit }, answer: first.answer }]);
    await this.drain();
    const cutoff = this.cutoff();
    let next: Buffer | undefined;
    if (this.known.length > this.pageSize) next = cutoff ?? undefined;
    else if (this.known.length === this.pageSize && this.pruned && cutoff) {
      // Parts after the page were never asked: say "more" only if something is there.
      if ((await this.reader.range(cutoff, this.end, { limit: 1 })).count > 0) next = cutoff;
    }
    return {
      children: this.known.slice(0, this.pageSize).map((f) => {
        const keys = this.complete.get(f.abs.toString('latin1'));
        return keys === undefined ? f.child : { ...f.child, keys };
      }),
      revision: this.reader.revision ?? '0',
      next: next ? this.conn.relativeKey(next) : undefined,
      queries: this.reader.queries,
      trips: this.reader.trips,
      visited: this.reader.visited,
      returned: this.reader.returned,
      totalKeys: this.options.after ? undefined : this.folderKeys,
    };
  }

  /**
   * The folder's keys, its first page of keys, and its split on the leading byte. A large folder's first answer is
   * followed by a split of nearly all its keys anyway; a first request over the whole folder would visit every key
   * once more. So the split comes first, in two halves (leading bytes below and from HALF_AT) on the server's two
   * cores, and the first request then reads only the buckets that hold its page of keys (the leftmost ones holding
   * `limit` keys). It does not wait for the other half: when the left half answers first, it knows where those
   * buckets end; when the right one does and holds few keys, the left holds the folder (one leading byte, as often)
   * and the first request reads the whole folder beside it at once, a second visit that costs no time. Halves read at
   * different revisions (a write between them): the one answered last is asked again at the other's revision.
   * A small folder pays a round trip more than one request would (~2–3 ms here), unless the caller knows it is small
   * (ListOptions.expectedKeys: the tree's cache does from the parent's listing).
   */
  private async firstAnswers(
    limit: number,
  ): Promise<{ answer: RangeAnswer; keys: number; buckets?: Array<{ span: Span; answer: RangeAnswer }> }> {
    const whole = async () => {
      const answer = await this.reader.range(this.start, this.end, { limit });
      return { answer, keys: answer.count };
    };
    const spans = leadingBuckets(this.absPrefix, this.start, this.end);
    if (
      this.options.leadingSplit === false ||
      (this.options.expectedKeys ?? Infinity) <= SMALL_FOLDER ||
      (this.options.concurrency ?? DEFAULT_CONCURRENCY) < 2 ||
      spans.length < 2
    )
      return whole();
    const mid = Buffer.concat([this.absPrefix, Buffer.from([HALF_AT])]);
    let h = spans.findIndex((s) => Buffer.compare(s.lo, mid) >= 0);
    if (h <= 0) h = Math.ceil(spans.length / 2);
    const ask = (from: number, to: number) =>
      this.reader.batch(
        spans.slice(from, to).map((s) => ({ from: s.lo, to: s.hi, request: { limit: 1 } })),
        false,
      );
    const halves = [ask(0, h), ask(h, spans.length)];
    // Awaited below; never an unhandled rejection when the other fails first.
    for (const half of halves) half.catch(() => undefined);
    const firstHalf = await Promise.race(halves.map((half, side) => half.then((answers) => ({ side, answers }))));
    // The listing goes on at the revision of the half answered first (the reader pinned it).
    const keysIn = (answers: RangeAnswer[]) => answers.reduce((n, a) => n + a.count, 0);
    /** End of the leftmost buckets holding `limit` keys, when these answers (from the first bucket on) reach it. */
    const upTo = (answers: RangeAnswer[]): Bound | undefined => {
      let keys = 0;
      for (let i = 0; i < answers.length; i++) if ((keys += answers[i].count) >= limit) return spans[i].hi;
      return undefined;
    };
    let hi: Bound = this.end;
    if (firstHalf.side === 0) hi = upTo(firstHalf.answers) ?? this.end;
    else if (keysIn(firstHalf.answers) >= limit) hi = upTo([...(await halves[0]), ...firstHalf.answers]) ?? this.end;
    const answer = await this.reader.range(this.start, hi, { limit });
    const revision = this.reader.revision;
    const answers: RangeAnswer[] = [];
    for (const [side, half] of halves.entries()) {
      const got = await half;
      // Read at another revision: asked again at the listing's (which the reader pinned).
      answers.push(
        ...(got.some((a) => a.revision !== revision) ? await (side ? ask(h, spans.length) : ask(0, h)) : got),
      );
    }
    return { answer, keys: keysIn(answers), buckets: spans.map((span, i) => ({ span, answer: answers[i] })) };
  }

  /**
   * The first answer with the folder's leading-byte split: the buckets the answer covered are
   * done, the one its last child lies in goes on from there, the later ones are followed like any split's parts.
   */
  private takeBuckets(first: RangeAnswer, buckets: Array<{ span: Span; answer: RangeAnswer }>): void {
    const groups = this.collect(first.kvs);
    const from = groups[groups.length - 1].found.skip;
    // One split record for all of them: a bucket holding most of the folder is split as a stubborn part.
    const record: SplitRecord = {
      anchor: groups[0].found,
      keys: first.count,
      parts: 0,
      counted: 0,
      // (No child's size to learn from it.)
      abandoned: true,
      expected: 0,
      total: buckets.length,
      estimate: 1,
      answered: 0,
      roots: 0,
    };
    const results: Array<{ task: Task; answer: RangeAnswer }> = [];
    for (const { span, answer } of buckets) {
      if (from === null || (span.hi !== null && Buffer.compare(span.hi, from) <= 0)) continue;
      const task: Task = { lo: span.lo, hi: span.hi, limit: 1, parent: record };
      record.parts++;
      if (Buffer.compare(span.lo, from) >= 0) results.push({ task, answer });
      else {
        // The bucket the first answer ended in: its keys from that answer, with the bucket's count.
        const kvs = first.kvs.filter((kv) => Buffer.compare(kv.key, span.lo) >= 0);
        results.push({ task, answer: { kvs, count: Math.max(answer.count, kvs.length), more: true } });
      }
    }
    // The first answer's children, and the sizes of those before the bucket it ended in (take() learns the others).
    const rest = results[0]?.task.lo;
    for (const g of groups) this.add(g.found);
    for (let i = 0; i < groups.length - 1; i++)
      if (rest === undefined || Buffer.compare(groups[i].found.abs, rest) < 0) {
        this.addSize(groups[i].keys);
        this.completed(groups[i]);
      }
    // Children expected in the folder, by the median of the complete ones the first answer showed.
    const complete = groups
      .slice(0, -1)
      .map((g) => g.keys)
      .sort((a, b) => a - b);
    if (complete.length) record.estimate = first.count / complete[Math.floor(complete.length / 2)];
    this.take(results);
  }

  /**
   * The namespaces of a Kubernetes registry, when this folder is one of its namespaced resources (see
   * namespaceHint.ts) and large enough for one range per namespace to cost less than finding them: at least
   * KEYS_PER_NAMESPACE keys per namespace, and half the children of the first answer (one at least) among them.
   */
  private async namespaces(first: RangeAnswer): Promise<{ names: Buffer[]; groups: Group[] } | undefined> {
    if (first.kvs.length >= this.folderKeys) return undefined;
    const root = this.conn.absoluteKey(Buffer.alloc(0));
    const sources = namespaceSources(this.absPrefix, this.options.separator, root);
    if (!sources.length) return undefined;
    const groups = this.collect(first.kvs);
    const shown = groups.map((g) => g.found);
    const folders = shown.filter((f) => f.child.kind === 'folder');
    if (!folders.length) return undefined;
    const name = (f: Found) => f.child.name.subarray(0, f.child.name.length - 1);
    // Namespace names are DNS labels: a folder whose children mostly are not (hosts, paths, dates with dots) is not
    // asked about them.
    if (2 * folders.filter((f) => isNamespaceName(name(f))).length < folders.length) return undefined;
    const limit = 2 * this.pageSize + shown.length;
    let known = await readNamespaces(this.reader, sources, name(folders[0]), limit);
    // No namespace keys (a partial dump, a store without them): every namespace has its `default` service account.
    // The model's API server dump without its namespace keys: 2,848 → 891 requests, 3.70 → 2.01 keys visited per key.
    // Only under kube-apiserver's own prefixes: elsewhere it would be a round trip more for nothing.
    if (!known?.length && underRegistry(this.absPrefix)) {
      const accounts = namespaceSources(this.absPrefix, this.options.separator, root, 'serviceaccounts');
      known = await readNamespaces(this.reader, accounts, name(folders[0]), limit);
    }
    if (!known) return undefined;
    const names = new Set(known.map((n) => n.toString('latin1')));
    const hits = folders.filter((f) => names.has(name(f).toString('latin1'))).length;
    if (!hits || 2 * hits < folders.length || this.folderKeys < KEYS_PER_NAMESPACE * known.length) return undefined;
    return { names: known, groups };
  }

  /**
   * The first answer's children, then the rest of the folder (from its last child on) cut by the namespaces: a
   * namespace's range shows its child and counts it whole; the gaps between them are explored like any range.
   */
  private takeNamespaces(groups: readonly Group[], namespaces: readonly Buffer[]): void {
    this.learn(groups);
    const from = groups[groups.length - 1].found.abs;
    this.enqueue(
      namespacePartition(this.absPrefix, namespaces, from, this.end).map((s) => ({
        lo: s.lo,
        hi: s.hi,
        limit: 1,
        namespace: s.namespace,
      })),
    );
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
    const requests = this.reader.queries + this.inFlight;
    const spent = this.reader.visited + RANGE_COST * requests;
    return spent > EXPLORATION_COST * this.folderKeys + FIRST_LIMIT || requests >= this.queryBudget();
  }

  /** Keys of the fallback's later pages: as many as FALLBACK_PAGE_BYTES holds. */
  private pageKeys(): number {
    return Math.max(FALLBACK_PAGE, Math.floor(FALLBACK_PAGE_BYTES / this.keyBytes));
  }

  /**
   * Requests the fallback may still need at most beyond the ranges it reads: every range's later pages hold
   * pageKeys() keys, so all of them together at most one per pageKeys() keys of the folder, plus one last page
   * per range (counted by the caller).
   */
  private fallbackReserve(): number {
    return Math.ceil(this.folderKeys / this.pageKeys()) + 1;
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
        // Everything to the left is known: explore the leftmost ranges put aside that the page may still need.
        for (const next of this.unpark()) this.follow(next.task, next.answer, next.groups, true);
        continue;
      }
      // A heavy range put aside goes on as soon as the page may need it (see resumeHeavy).
      if (this.parked.length) this.resumeHeavy();
      while (this.queue.length && running.size < concurrency) {
        if (!this.fallback && this.overBudget()) this.fallback = true;
        const tasks = this.fallback ? this.nextPages() : this.nextShare();
        if (!tasks.length) continue;
        this.inFlight += tasks.length;
        const work = (this.fallback && tasks[0].page ? this.readPages(tasks) : this.explore(tasks)).finally(() => {
          this.inFlight -= tasks.length;
        });
        const p: Promise<void> = work.finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size) await Promise.race(running);
    }
  }

  /**
   * The leftmost parked ranges (sorted) the page may still need: the first, and each next one while the children
   * known before it, with those expected in the ranges taken before it (keys ÷ the typical child's, less the one
   * seen), leave the page room. One a round trip, the tenth bench shape's /registry/events/ ended in ~45 round trips
   * of one range each, most of them empty (130 ms of a 770 ms listing on this machine's etcd); together, ~10. Real
   * etcd A/B, 10 runs alternating: 633 vs 786 ms (median); the model: nothing of 30 folders slower, the tenth
   * events 510 → 486 ms, the kubernetes registry's pods 447 → 407 ms, same requests and visits.
   */
  private unpark(): Parked[] {
    this.sortParked();
    const out: Parked[] = [];
    const typical = this.typicalSize();
    let expected = 0;
    while (this.parked.length) {
      const next = this.parked[0];
      const last = next.groups[next.groups.length - 1];
      if (out.length && this.indexOf(last.found.abs) + expected > this.pageSize) break;
      out.push(this.parked.shift()!);
      expected += childrenAfter(next, typical);
    }
    return out;
  }

  /**
   * Explores, before everything to their left is known, the ranges put aside that hold at least 1/HEAVY_PARKED of
   * the folder's keys once the children known or expected before them (those expected in the ranges put aside
   * before them included) leave the page room: such a range's exploration is a chain of waves each visiting most of
   * its keys, which waiting put after all the exploration to its left, one server core idle meanwhile. The tenth
   * bench shape's /registry/events/ (its `p` holding half the folder, put aside after the first wave while 515
   * children seemed to come before it; ~330 did): real etcd A/B, 10 runs alternating, 611 vs 755 ms (median),
   * /registry/pods/ 988 vs 1,054 ms; the model: events 486 → 448 ms, pods 754 → 705 ms, the kubernetes registry's
   * pods 454 → 450 ms. It explores in vain where the estimate errs the other way: the model's /mix/ (its 340k-key
   * `metrics` after ~580 children, 498 expected): 477 → 651 ms, real 408 → 545 ms (still 1.7 × its count floor).
   */
  private resumeHeavy(): void {
    this.sortParked();
    const typical = this.typicalSize();
    let before = 0;
    for (const parked of [...this.parked]) {
      const from = parked.groups[parked.groups.length - 1].found.skip;
      if (
        from !== null &&
        keysAfter(parked.answer, parked.groups) * HEAVY_PARKED >= this.folderKeys &&
        this.expectedBefore(from) + before <= this.pageSize
      ) {
        this.parked.splice(this.parked.indexOf(parked), 1);
        this.follow(parked.task, parked.answer, parked.groups, true);
      } else before += childrenAfter(parked, typical);
    }
  }

  /** Ranges put aside in key order (of the last child each answer showed). */
  private sortParked(): void {
    this.parked.sort((a, b) =>
      Buffer.compare(a.groups[a.groups.length - 1].found.abs, b.groups[b.groups.length - 1].found.abs),
    );
  }

  /** The next queued ranges the page still needs (the others are dropped), at most `max`. */
  private shift(max: number): Task[] {
    const tasks: Task[] = [];
    while (this.queue.length && tasks.length < max) {
      const task = this.queue.shift()!;
      if (this.needed(task)) tasks.push(task);
      else if (task.parent) {
        task.parent.abandoned = true;
        this.open.delete(task.parent);
      }
    }
    return tasks;
  }

  /** A share of the exploration's queue for one round trip, within the request budget. */
  private nextShare(): Task[] {
    const left = this.queryBudget() - this.reader.queries - this.inFlight;
    if (left <= 0) {
      this.fallback = true;
      return [];
    }
    // A wave of up to one Txn per round trip in flight goes whole: the reader spreads it over them, and its answers
    // complete the splits whose sizes the next plans use.
    return this.shift(Math.min(left, BATCH_OPS * Math.max(1, this.options.concurrency ?? DEFAULT_CONCURRENCY)));
  }

  /**
   * The next round trip of the keys-only fallback: queued ranges in key order, as many as one Txn holds and
   * whose pages fit FALLBACK_PAGE_BYTES. Ranges still from the exploration become pages of FALLBACK_PAGE keys.
   * When the ranges left could take more requests than MAX_QUERIES leaves (each at least one page), the
   * rightmost are read as one range: the page is the leftmost children, so those are the least likely needed,
   * and reading them as one still reads each key at most once.
   */
  private nextPages(): Task[] {
    const left = MAX_QUERIES - this.reader.queries - 2 * this.inFlight - this.fallbackReserve();
    const fit = Math.max(1, Math.floor(left / 2));
    if (this.queue.length > fit) {
      const rest = this.queue.splice(fit - 1);
      const hi = rest.reduce<Bound>(
        (h, t) => (h === null || t.hi === null ? null : Buffer.compare(h, t.hi) < 0 ? t.hi : h),
        rest[0].hi,
      );
      this.queue.push({ lo: rest[0].lo, hi, limit: FALLBACK_PAGE, page: true });
    }
    const tasks: Task[] = [];
    let bytes = 0;
    while (this.queue.length && tasks.length < BATCH_OPS) {
      const head = this.queue[0];
      const limit = head.page ? head.limit : FALLBACK_PAGE;
      if (tasks.length && bytes + limit * this.keyBytes > FALLBACK_PAGE_BYTES) break;
      const [task] = this.shift(1);
      if (!task) continue;
      tasks.push(task.page ? task : { lo: task.lo, hi: task.hi, limit, page: true });
      bytes += limit * this.keyBytes;
    }
    return tasks;
  }

  /** Index of the first child found whose key is not below `key`. */
  private indexOf(key: Buffer): number {
    return firstWhere(this.known.length, (i) => Buffer.compare(this.known[i].abs, key) >= 0);
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
        task.parent.answered++;
        task.parent.roots += Math.sqrt(answer.count);
        task.parent.counted += answer.count;
        task.parent.expected = Math.max(0, task.parent.expected - answer.count / (this.typicalSize() ?? 1));
        if (--task.parent.parts === 0) {
          this.open.delete(task.parent);
          if (!task.parent.abandoned) this.learnSize(task.parent);
        }
      }
      const groups = this.collect(answer.kvs);
      this.learn(groups);
      if (task.namespace && groups.length === 1) {
        this.addSize(answer.count);
        this.completed({ found: groups[0].found, keys: answer.count });
      }
      // The last one too when the answer held every key of its range and the range holds all of that child.
      const last = groups[groups.length - 1];
      const skip = last?.found.skip;
      if (
        last &&
        answer.count <= answer.kvs.length &&
        (task.hi === null || (skip !== null && !lessThan(task.hi, skip)))
      )
        this.completed(last);
      return groups;
    });
    results.forEach(({ task, answer }, i) => this.follow(task, answer, found[i]));
  }

  /** Records an answer's children; those followed by another one within it are complete: their size is known. */
  private learn(groups: readonly Group[]): void {
    for (const g of groups) this.add(g.found);
    for (let i = 0; i < groups.length - 1; i++) {
      this.addSize(groups[i].keys);
      this.completed(groups[i]);
    }
  }

  private learnSize(record: SplitRecord): void {
    const size = record.keys - record.counted;
    if (size > 0) this.addSize(size);
  }

  /** Records the keys of a folder child seen whole (KeyspaceChild.keys). */
  private completed(group: Group): void {
    if (group.found.child.kind === 'folder') this.complete.set(group.found.abs.toString('latin1'), group.keys);
  }

  /** Learns a child's size, keeping `sizes` ascending. */
  private addSize(size: number): void {
    this.sizes.splice(
      firstWhere(this.sizes.length, (i) => this.sizes[i] > size),
      0,
      size,
    );
  }

  /** Median keys of a child, when any is known. */
  private typicalSize(): number | undefined {
    if (!this.sizes.length) return undefined;
    return this.sizes[Math.floor(this.sizes.length / 2)];
  }

  /** Plans what an answer left unread in its range: everything after the last child it showed. */
  private follow(task: Task, answer: RangeAnswer, groups: Group[], unparked = false): void {
    if (!groups.length || answer.count <= answer.kvs.length) return;
    const last = groups[groups.length - 1];
    const from = last.found.skip;
    if (from === null || !lessThan(from, task.hi)) return;
    // Keys of the range from the last child's first key on (its own keys included).
    const keys = keysAfter(answer, groups);
    if (!this.needed({ lo: from, hi: task.hi })) return;
    if (this.fallback) {
      this.enqueue([{ lo: from, hi: task.hi, limit: FALLBACK_PAGE, page: true }]);
      return;
    }
    const typical = this.typicalSize();
    // The children expected to its left fill the page: put it aside rather than visit its keys in every wave.
    if (!unparked && typical !== undefined && this.expectedBefore(from) > this.pageSize) {
      this.parked.push({ task, answer, groups });
      return;
    }
    // Few keys complete the page: read on rather than split. Children larger than the typical one made a read-on
    // fall short: the next reads READ_ON_GROWTH× as many keys (within the bound); one that found a single child
    // (a large one) splits instead.
    const missing = this.pageSize - this.known.length + 1;
    const bound = Math.max(READ_ON, this.folderKeys / KEYS_PER_READ);
    let onward = typical === undefined ? Infinity : typical * missing;
    // (Not when one child filled most of it: the next read starts after that child anyway — /mix/logs/.)
    if (task.readOn && last.keys <= task.limit / 2)
      onward = Math.max(onward, Math.min(Math.floor(bound), READ_ON_GROWTH * task.limit));
    // Falling short costs another visit of the range's keys: as much as returning one key per KEYS_PER_READ of them,
    // so a read-on reads at least that many.
    const reading = Math.max(onward, Math.ceil(keys / KEYS_PER_READ));
    // (A read-on once the page has its count of children expects none, never fewer: a negative count made the
    // children expected before a range, which decides whether it is put aside, come out too low.)
    const record = (parts: number, expecting: number): SplitRecord => {
      const expected = Math.max(0, expecting);
      const r: SplitRecord = {
        anchor: last.found,
        keys,
        parts,
        counted: 0,
        abandoned: false,
        expected,
        total: parts,
        estimate: expected,
        answered: 0,
        roots: 0,
      };
      this.open.set(r, from);
      return r;
    };
    // A read-on that a few large children ate (the range left holds far more keys than it read, and a good share of
    // the folder): reading on again would visit all of that range once per large child, one after another. So it is
    // split wide at its first free position, each part read on (twice the read's keys shared among them): every key
    // is visited once more, on both server cores, and a large child only costs its own part a visit more.
    // /mix/logs/ (five 80k-key services among 500 small ones) in the model: 4.01 → 3.40 visits per key, 616 → 419
    // ms; no other folder of 30 worse. Not again for its parts.
    if (
      task.readOn &&
      !task.spread &&
      onward <= bound &&
      keys > EATEN * task.limit &&
      keys * HEAVY_SHARE >= this.folderKeys
    ) {
      const spans = this.plan(last.found, from, task.hi, keys, SPREAD_CHILDREN, true);
      const limit = Math.ceil((2 * reading) / spans.length) + 1;
      const parent = record(spans.length, missing);
      this.enqueue(spans.map((s) => ({ lo: s.lo, hi: s.hi, limit, parent, readOn: true, again: true, spread: true })));
      return;
    }
    if (onward <= bound && onward < keys && !(task.readOn && groups.length === 1)) {
      const limit = Math.min(keys, reading) + 1;
      this.enqueue([{ lo: from, hi: task.hi, limit, parent: record(1, missing), readOn: true, again: true }]);
      return;
    }
    // A range of few keys goes on as one range, a child per answer: a split would spend a range per byte value to
    // find the one or two children such a range holds, while asking it whole again costs only its few keys
    // (/services/: 725 → 565 requests).
    const limit = typical !== undefined && typical <= SMALL_CHILD ? typical + 1 : 1;
    if (typical !== undefined && keys <= Math.max(2 * typical, this.folderKeys / SKIP_SHARE)) {
      this.enqueue([{ lo: from, hi: task.hi, limit, parent: record(1, 1), again: true }]);
      return;
    }
    const following = this.following(keys, task.parent);
    const stubborn = !!task.parent && task.parent.total > 1 && answer.count > STUBBORN * task.parent.keys;
    // A range asked whole for about one more child held more: the estimate was wrong, so it is split as a part that
    // kept its keys, for at least two children (the tenth shape's `pr-<n>`: one namespace per round trip before).
    const spans = this.plan(
      last.found,
      from,
      task.hi,
      keys,
      task.again && following !== undefined ? Math.max(following, 2) : following,
      stubborn || !!task.again,
    );
    const parent = record(spans.length, following === undefined ? 1 : Math.max(1, following));
    this.enqueue(spans.map((s) => ({ lo: s.lo, hi: s.hi, limit, parent, again: spans.length === 1 })));
  }

  /** Children known or expected (in splits under way) before `key`. */
  private expectedBefore(key: Buffer): number {
    let expected = this.indexOf(key);
    for (const [record, start] of this.open) if (Buffer.compare(start, key) < 0) expected += record.expected;
    return expected;
  }

  /**
   * Children expected after the first one in a range of `keys` keys: keys ÷ the typical child's. When the sizes
   * seen differ widely (a few huge children among many small ones, as Zipf-like sizes are), a range's keys say
   * little about its children: then no more than its share of the children the split that made it expected.
   */
  private following(keys: number, parent?: SplitRecord): number | undefined {
    const typical = this.typicalSize();
    if (typical === undefined) return undefined;
    const byKeys = keys / typical - 1;
    if (!parent?.roots || !this.uneven()) return byKeys;
    // Shared out by √keys, not evenly: a part holding most of the split's keys holds more of its children than a
    // part of a few keys, though not in proportion (one huge child is as likely as many). /archive/ (900 dated
    // folders of uneven sizes): 3.43 → 2.93 visits per key.
    const share = (parent.estimate * Math.sqrt(keys)) / Math.max(1, (parent.roots * parent.total) / parent.answered);
    // Never fewer than log2(1 + keys ÷ typical): a split expecting one child makes parts expecting less, and a
    // share of that said "no more children" of a range of 56k keys holding 100 — asked whole again and again, a
    // child and a visit of all of them each time (Zipf namespaces of random letters, 300k keys: 4.86 → 3.09 visits
    // per key in the model; nothing else of 36 folders moved by more than 4 %).
    return Math.min(byKeys, Math.max(Math.log2(1 + byKeys), share - 1));
  }

  /** True when the child sizes seen spread over more than UNEVEN× between their 10th and 90th percentiles. */
  private uneven(): boolean {
    if (this.sizes.length < 5) return false;
    const sorted = this.sizes;
    const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))];
    return at(0.9) > UNEVEN * at(0.1);
  }

  /** How to split what follows `anchor` in [from, hi), where `keys` keys are left counting the anchor's own. */
  private plan(
    anchor: Found,
    from: Buffer,
    hi: Bound,
    keys: number,
    following: number | undefined,
    stubborn = false,
  ): Span[] {
    const name = anchor.abs;
    // Positions before `first` are the same for every key in [anchor, hi) — one more when hi is the end of the
    // anchor's bytes so far (a range of one leading byte, as splits make them).
    let first = Math.max(this.absPrefix.length, hi === null ? 0 : commonPrefix(name, hi));
    if (hi !== null && hi.length === first + 1 && first < name.length && name[first] + 1 === hi[first]) first++;
    // About one more child: one range for all of it (its answer says whether more follow).
    if (following !== undefined && following <= 1.5)
      return splitAfter(name, from, hi, first, { fine: [], mergeAfter: first - 1 });
    const hot = [...this.hot.keys()].filter((p) => p >= first && p < name.length).sort((a, b) => a - b);
    // Nothing known to vary here yet.
    const blind = !hot.length && following === undefined;
    // Children still wanted: those expected here, no more than the page lacks.
    const wanted = following === undefined ? undefined : Math.min(following, this.pageSize - this.known.length + 1);
    let cap = Math.min(
      MAX_SPLIT,
      Math.floor(this.queriesLeft() / 2),
      Math.max(16, Math.ceil(keys / KEYS_PER_RANGE)),
      wanted === undefined
        ? MAX_SPLIT
        : Math.max(8, Math.min(this.alphabet.size, 64), Math.ceil(this.rangesPerChild() * wanted)),
    );
    cap = Math.min(cap, this.requestShare(keys, wanted));
    // Finer at chosen positions (the candidates below). Digits get a range each (numbers enumerate), other bytes
    // where they were seen (gaps between share ranges).
    const seenAnywhere = new Set<number>();
    for (const values of this.hot.values()) for (const v of values) seenAnywhere.add(v);
    // Narrow: the bytes siblings were seen with at that position (anywhere, at a position never seen to vary).
    // Wide: every byte seen in a key so far (or near that position in a name: wideBytes), each its own range, gaps
    // between them shared — one wave finds the children however their names differ, at one visit per key covered
    // and one range per byte value.
    const valuesAt = (p: number, wide: boolean): number[] => {
      const out = new Set<number>();
      const seen = [name[p], ...(this.hot.get(p) ?? (wide ? [] : seenAnywhere)), ...(wide ? this.wideBytes(p) : [])];
      for (const v of seen) for (const c of valuesLike(v)) out.add(c);
      return [...out].sort((a, b) => a - b);
    };
    // Candidates, most promising first: the positions seen to vary (rightmost first); a folder's separator, split on the separator
    // alone (each range then ends where a child's keys end, so a range that shows a child needs no later look
    // behind it; longer names share the next range); the positions right after the last one seen to vary (names
    // a byte longer); and the anchor's digits (numbers enumerate even where not seen to yet), the last digit of
    // each run first: counters, dates and versions change at their right end.
    const candidates = [...hot].reverse();
    const sepAt = anchor.child.kind === 'folder' ? name.length - this.separator.length : -1;
    /** Where the anchor's own name ends (before its separator). */
    const nameEnd = sepAt < 0 ? name.length : sepAt;
    const add = (p: number) => {
      if (p >= first && p < name.length && !candidates.includes(p)) candidates.push(p);
    };
    add(sepAt);
    if (hot.length) for (let p = hot[hot.length - 1] + 1; p <= hot[hot.length - 1] + 2; p++) add(p);
    const digits: Array<{ at: number; rank: number }> = [];
    for (let p = first, end = -1; p < name.length && p < first + MAX_PROFILE; p++) {
      if (!isDigit(name[p])) continue;
      if (end < p) for (end = p; end + 1 < name.length && isDigit(name[end + 1]);) end++;
      digits.push({ at: p, rank: end - p });
    }
    digits.sort((a, b) => a.rank - b.rank || b.at - a.at);
    for (const d of digits) add(d.at);
    // The first position where keys of the range may differ, with every byte seen (blind: the second too): names
    // not seen yet may differ anywhere, and the keys after the ones seen — often most of them — differ there
    // first; one range per byte finds a child per leading byte.
    const wideAt = new Set<number>();
    /** Where a hex id starts whose first two digits are split at once (see below). */
    let hexPair: number | undefined;
    // First when the range holds more than STUBBORN of what its split covered: the positions seen to vary elsewhere
    // did not cut it, and most of its names differ here. With every byte seen, whether or not siblings were seen to
    // differ there and whether the anchor has a digit there (a hex or word name may have a letter), when its keys
    // outweigh such a split's ranges (one per byte seen). The model's API server dump: 5.3 → 4.0 × the floor.
    // (A stubborn range of fewer keys: first only where it would be wide anyway, at a non-digit not seen to vary.)
    const wideAnyway = (p: number) => p < name.length && !isDigit(name[p]) && !candidates.includes(p);
    if (stubborn && first < name.length && (keys > RANGE_COST * this.alphabet.size || wideAnyway(first))) {
      if (candidates.includes(first)) candidates.splice(candidates.indexOf(first), 1);
      candidates.unshift(first);
      wideAt.add(first);
      // And where a word and its punctuation end ("preview-", "api.", "team_"), when what follows is not a number:
      // names made <word>-<id> (ids, hashes, hex, words) share the word and differ right after it, and the first
      // free position often still lies inside the word (the tenth shape's `preview-<hex6>`, 159k keys after
      // `preview-0486d6`: the next split's range of keys sharing "preview-" held them all; the model: 4.18 → 3.41 ×
      // the floor). Numbers after the word are enumerated by their digits already.
      const word = afterWord(name, first + 1, nameEnd);
      if (word !== undefined) {
        if (candidates.includes(word)) candidates.splice(candidates.indexOf(word), 1);
        candidates.splice(1, 0, word);
        wideAt.add(word);
        // A hex id after the word (`preview-0486d6`): its first two digits at once, 256 ranges, when they cost less
        // than a visit of the range's keys: one hex digit a wave left ~6 names per range, and the giants among them
        // (Zipf sizes) were visited again in two more waves (the tenth shape's /registry/events/ in the model:
        // 3.80 → 3.36 visits per key, /registry/pods/ 3.67 → 3.23; no other folder of 30 moved).
        if (isHexId(name, word, nameEnd) && HEX_DIGITS.length ** 2 * RANGE_COST <= keys) {
          hexPair = word;
          candidates.splice(2, 0, word + 1);
          wideAt.add(word + 1);
          cap = Math.max(cap, Math.min(MAX_SPLIT, Math.floor(this.queriesLeft() / 2), HEX_DIGITS.length ** 2 + 64));
        }
      }
    }
    for (const p of blind ? [first, first + 1] : [first])
      if (wideAnyway(p)) {
        candidates.push(p);
        wideAt.add(p);
      }
    const atSep = (p: number) => p === sepAt && this.separator.length === 1;
    // Every combination of the fine positions' values when that fits, else the first position's values alone,
    // else each position's values alone (one range per value per position).
    const modes: ReadonlyArray<Partial<SplitShape>> = [
      { lean: true },
      { lean: true, sparseFirst: true },
      { lean: true, flat: true },
    ];
    /** The finest mode (index in `modes`, at most `coarsest`) whose split fits the cap; the coarsest if none. */
    const shape = (fine: FinePosition[], over: boolean, coarsest = modes.length - 1) => {
      const mergeAfter = fine[fine.length - 1].at;
      for (let mode = 0; ; mode++) {
        const max = over && mode === coarsest ? Infinity : cap;
        const spans = splitAfter(name, from, hi, first, { fine, mergeAfter, ...modes[mode] }, max);
        if (spans.length <= cap || mode === coarsest) return { spans, mode };
      }
    };
    // First each candidate in turn with the bytes siblings were seen with, kept when the split still fits...
    let best: { spans: Span[]; mode: number } | undefined;
    let fine: FinePosition[] = [];
    for (const p of candidates) {
      // A wide position's values are ranges of their own: names that differ from the anchor there rarely follow its
      // later bytes (the tenth shape's `pre…` after `pr-1137`; the model's /fs/home/ 3.99 → 3.31 × the floor).
      const hex = hexPair !== undefined && (p === hexPair || p === hexPair + 1);
      const values = atSep(p) ? [this.separator[0]] : hex ? HEX_DIGITS : valuesAt(p, wideAt.has(p));
      // (The first digit of a hex pair is combined with the second, not alone.)
      const next = [...fine, { at: p, values, alone: wideAt.has(p) && p !== hexPair }].sort((a, b) => a.at - b.at);
      // A position that fits only in a coarser mode loses more than it finds — unless it leads: each of its
      // values a range of its own, the split so far under the anchor's. (So no coarser mode is built.)
      const leads = fine.every((f) => f.at > p);
      const split = best ? shape(next, false, leads ? Math.max(best.mode, 1) : best.mode) : shape(next, true);
      if (best && (split.spans.length > cap || (split.mode > best.mode && !(leads && split.mode === 1)))) continue;
      if (best && !hot.includes(p) && wanted !== undefined && best.spans.length >= wanted) break;
      best = split;
      fine = next;
    }
    // ...then, where the ranges left allow, every byte seen anywhere at the positions seen to vary, no coarser
    // (combinations of the bytes seen at each position find more than every byte at one).
    for (let i = 0; best && i < fine.length; i++) {
      // Digits are enumerated already; other bytes there would be ranges that names of digits never fill.
      if (!hot.includes(fine[i].at) || fine[i].values.every(isDigit)) continue;
      // Widened, its values are ranges of their own too (FinePosition.alone): the API server dump's first split
      // combined every first letter with its anchor's later bytes, 768 empty ranges.
      const next = fine.map((f, j) => (j === i ? { at: f.at, values: valuesAt(f.at, true), alone: true } : f));
      // The leading position may go sparse: each of its bytes a range, the combinations under the anchor's.
      const split = shape(next, false, i === 0 ? Math.max(best.mode, 1) : best.mode);
      if (split.spans.length > cap) continue;
      best = split;
      fine = next;
    }
    return best?.spans ?? splitProfile(name, from, hi, first);
  }

  /**
   * The bytes a wide position is split on: every byte seen in a key while few children are known, then those seen
   * in children's names at that position or the one before or after it (names differ in length by a byte or two):
   * names are positional (words, then numbers or hex after a dash), so a byte never seen near there is rarely there
   * (and if it is, its keys share the range of the next byte listed). The model's API server dump: 8 % fewer
   * requests, /fs/home/ 4.8 → 4.4 visits per key.
   */
  private wideBytes(p: number): Iterable<number> {
    if (this.known.length < POSITIONAL_AFTER) return this.alphabet;
    const out = new Set<number>();
    for (let q = p - 1; q <= p + 1; q++) for (const v of this.bytesAt.get(q) ?? []) out.add(v);
    return out;
  }

  /**
   * The ranges a split may spend out of SOFT_QUERIES: what is left of it, shared by the children the page still
   * lacks (of those the folder seems to hold) in proportion to the children expected in this range (its share of the
   * folder's keys while no child's size is known), at least MIN_SPLIT. Splits planned one by one each took what their
   * own range seemed to need; names with many positions to enumerate (hosts `web042.fra1.example.net`, 300 of them)
   * spent 4,207 requests on mostly empty ranges. Shared out, 2,644; team namespaces 2,851 → 2,584, the API server dump
   * (its namespaces not read) 3,300 → 2,846 (the model's held-out shapes; no folder's keys visited moved by more than
   * 0.5 %). A budget of 1,800 cut more (2,332, 2,292) but cost the dump 3.69 → 4.01 keys visited per key: its giants
   * need their splits.
   */
  private requestShare(keys: number, wanted: number | undefined): number {
    const typical = this.typicalSize();
    const children = typical ? Math.min(this.pageSize, this.folderKeys / typical) : this.pageSize;
    const remaining = Math.max(1, children - this.known.length);
    // (At least the one child a split follows: a range expecting none would get no range at all.)
    const here = Math.max(1, wanted ?? (keys / Math.max(1, this.folderKeys)) * remaining);
    const left = SOFT_QUERIES - this.reader.queries - this.inFlight;
    return Math.max(MIN_SPLIT, Math.floor(left * Math.min(1, here / remaining)));
  }

  /**
   * Ranges a split may spend per child it should find: more while few children are known (where names differ is
   * least known then, and a split that finds the page's children at once spares the waves after it: the
   * 20,000-service folder, 2.12 → 1.04 visits per key in the model, nothing else moved).
   */
  private rangesPerChild(): number {
    return this.known.length <= EARLY_CHILDREN ? 4 : 2;
  }

  /** Requests of the exploration: MAX_QUERIES less what the fallback may need (one Txn of ranges, paged). */
  private queryBudget(): number {
    const exploration = MAX_QUERIES - 2 * BATCH_OPS - this.fallbackReserve();
    return Math.min(exploration, 64 + Math.ceil(this.folderKeys / KEYS_PER_QUERY));
  }

  private queriesLeft(): number {
    return Math.max(16, this.queryBudget() - this.reader.queries);
  }

  private enqueue(tasks: Task[]): void {
    // Left first: the page is the first children in key order. Each goes after the queued ranges starting at or
    // before it (a binary search: a split queues hundreds of ranges into a queue of thousands).
    for (const t of tasks)
      this.queue.splice(
        firstWhere(this.queue.length, (i) => Buffer.compare(this.queue[i].lo, t.lo) > 0),
        0,
        t,
      );
  }

  /**
   * Fallback past the budget: reads ranges keys-only, several in one Txn, skipping every folder seen. A range's
   * first page is small; once its count tells how many keys are left, the rest comes in pages as large as
   * FALLBACK_PAGE_BYTES allows, so a range costs about one keys-only read of it (visits ≤ ~2 per key) whatever
   * its shape.
   */
  private async readPages(tasks: Task[]): Promise<void> {
    const answers = await this.reader.batch(tasks.map((t) => ({ from: t.lo, to: t.hi, request: { limit: t.limit } })));
    tasks.forEach((task, i) => {
      const answer = answers[i];
      if (!answer.kvs.length) return;
      const groups = this.collect(answer.kvs);
      for (const g of groups) this.add(g.found);
      if (answer.count <= answer.kvs.length) return;
      const cursor = groups[groups.length - 1].found.skip;
      if (cursor === null || !lessThan(cursor, task.hi)) return;
      const limit = Math.min(answer.count - answer.kvs.length, this.pageKeys());
      this.enqueue([{ lo: cursor, hi: task.hi, limit: Math.max(FALLBACK_PAGE, limit), page: true }]);
    });
  }

  /** Children of sorted keys, each with the number of keys of it in `kvs`. */
  private collect(kvs: IKeyValue[]): Group[] {
    const out: Group[] = [];
    for (const kv of kvs) {
      if (!this.fallback) for (let i = this.absPrefix.length; i < kv.key.length; i++) this.alphabet.add(kv.key[i]);
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
    const lo = this.indexOf(found.abs);
    for (const neighbour of [this.known[lo - 1], this.known[lo]]) {
      if (!neighbour) continue;
      const at = commonPrefix(neighbour.abs, found.abs);
      if (at < this.absPrefix.length) continue;
      let seen = this.hot.get(at);
      if (!seen) this.hot.set(at, (seen = new Set()));
      for (const name of [neighbour.abs, found.abs]) if (at < name.length) seen.add(name[at]);
    }
    this.known.splice(lo, 0, found);
    for (let p = this.absPrefix.length; p < found.abs.length; p++) {
      let bytes = this.bytesAt.get(p);
      if (!bytes) this.bytesAt.set(p, (bytes = new Set()));
      bytes.add(found.abs[p]);
    }
  }
}

/**
 * Leading bytes the first split cuts at: each digit and small letter (names are mostly words, numbers
 * and hex), capitals in groups, a few punctuation marks.
 */
const BUCKET_BYTES: readonly number[] = [
  0x2d,
  0x2e,
  0x2f,
  ...Array.from({ length: 11 }, (_, i) => 0x30 + i),
  0x41,
  0x46,
  0x4b,
  0x50,
  0x55,
  0x5b,
  0x5f,
  0x60,
  ...Array.from({ length: 27 }, (_, i) => 0x61 + i),
];

/** [start, end) cut where the byte after `prefix` is each of BUCKET_BYTES. */
function leadingBuckets(prefix: Buffer, start: Buffer, end: Bound): Span[] {
  const out: Span[] = [];
  let lo = start;
  for (const b of BUCKET_BYTES) {
    const cut = Buffer.concat([prefix, Buffer.from([b])]);
    if (Buffer.compare(cut, lo) <= 0) continue;
    if (end !== null && Buffer.compare(cut, end) >= 0) break;
    out.push({ lo, hi: cut });
    lo = cut;
  }
  out.push({ lo, hi: end });
  return out;
}

/** Keys of an answer's range from the last child it showed on (that child's own keys included). */
function keysAfter(answer: RangeAnswer, groups: ReadonlyArray<{ keys: number }>): number {
  return answer.count - (answer.kvs.length - groups[groups.length - 1].keys);
}

/** Children expected in a parked range after the one it showed: its keys ÷ the typical child's, less that one. */
function childrenAfter(parked: Parked, typical = 1): number {
  return Math.max(0, keysAfter(parked.answer, parked.groups) / typical - 1);
}

/** The first index in [0, n) where `after` holds, `after` being false then true along it (n when never). */
function firstWhere(n: number, after: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Byte values a name seen with `v` at some position may have there: every digit for a digit, else `v`. */
function valuesLike(v: number): readonly number[] {
  return isDigit(v) ? DIGITS : [v];
}

/**
 * One range per position of `name` from `first` on (keys sharing exactly that many bytes with it), at most
 * MAX_PROFILE of them: the positions closest to the name's end are merged into one range beyond that.
 */
function splitProfile(name: Buffer, from: Buffer, hi: Bound, first: number): Span[] {
  const positions = name.length - first;
  const mergeAfter = positions <= MAX_PROFILE ? undefined : first + MAX_PROFILE - 1;
  return splitAfter(name, from, hi, first, { fine: [], mergeAfter });
}
