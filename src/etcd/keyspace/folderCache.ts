import { EtcdConnection } from '../connection';
import { Emitter, Event } from '../events';
import { keyId, prefixEnd } from '../keyCodec';
import { ResilientWatch } from '../watch';
import { KeyspaceChild, listChildren } from './listChildren';

export interface FolderListing {
  readonly children: readonly KeyspaceChild[];
  /** Relative key where the next page starts; absent when every child is loaded. */
  readonly next?: Buffer;
  readonly revision: string;
  /** Keys below the folder, when the first listing learned it. */
  readonly totalKeys?: number;
  /** True while a watch keeps this listing current. */
  readonly live: boolean;
  /** Set while that watch is not confirmed current (its member went silent): when it last was (local ms). */
  readonly staleSince?: number;
}

export interface FolderCacheOptions {
  readonly separator: string;
  readonly pageSize: number;
  /** Folders with at most this many keys below them are kept current by a prefix watch (0: never). */
  readonly liveMaxKeys?: number;
}

interface Entry {
  prefix: Buffer;
  children: KeyspaceChild[];
  next?: Buffer;
  revision: string;
  totalKeys?: number;
  stopWatch?: () => void;
  staleSince?: number;
}

/**
 * Folder listings of one connection, cached so re-expanding costs no query. Small folders are kept current by
 * a prefix watch that starts right after the listing's revision (so nothing between the two is missed);
 * larger ones are current as of their revision until refreshed.
 */
export class FolderCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private readonly changeEmitter = new Emitter<Buffer>();
  private queryCount = 0;
  private disposed = false;

  /** A cached folder changed (relative prefix); the tree redraws that node. */
  readonly onDidChange: Event<Buffer> = this.changeEmitter.event;

  constructor(
    private readonly conn: EtcdConnection,
    private options: FolderCacheOptions,
  ) {}

  /** Range requests sent so far (for the benchmark and tests). */
  get queries(): number {
    return this.queryCount;
  }

  /** The cached listing of `prefix`, fetching its first page on first use. */
  async list(prefix: Buffer, signal?: AbortSignal): Promise<FolderListing> {
    return this.view(await this.entry(prefix, signal));
  }

  /** Cached listing without any query, if present. */
  peek(prefix: Buffer): FolderListing | undefined {
    const entry = this.entries.get(keyId(prefix));
    return entry && this.view(entry);
  }

  /** Appends the next page of `prefix` (same pinned revision). */
  async loadMore(prefix: Buffer, signal?: AbortSignal): Promise<FolderListing> {
    const entry = await this.entry(prefix, signal);
    if (entry.next) {
      const page = await listChildren(this.conn, prefix, {
        ...this.options,
        after: entry.next,
        revision: entry.revision,
        signal,
      });
      this.queryCount += page.queries;
      entry.children.push(...page.children.filter((c) => !entry.children.some((e) => e.key.equals(c.key))));
      entry.next = page.next;
    }
    return this.view(entry);
  }

  /** Forgets `prefix` and every folder below it (or everything), stopping their watches. */
  invalidate(prefix?: Buffer): void {
    for (const [id, entry] of this.entries) {
      if (!prefix || startsWith(entry.prefix, prefix)) {
        entry.stopWatch?.();
        this.entries.delete(id);
      }
    }
  }

  updateOptions(options: FolderCacheOptions): void {
    this.options = options;
    this.invalidate();
  }

  dispose(): void {
    this.disposed = true;
    this.invalidate();
    this.changeEmitter.dispose();
  }

  private view(entry: Entry): FolderListing {
    return {
      children: entry.children,
      next: entry.next,
      revision: entry.revision,
      totalKeys: entry.totalKeys,
      live: entry.stopWatch !== undefined,
      staleSince: entry.staleSince,
    };
  }

  private entry(prefix: Buffer, signal?: AbortSignal): Promise<Entry> {
    const id = keyId(prefix);
    const cached = this.entries.get(id);
    if (cached) return Promise.resolve(cached);
    let pending = this.pending.get(id);
    if (!pending) {
      pending = this.fetch(prefix, signal).finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return pending;
  }

  private async fetch(prefix: Buffer, signal?: AbortSignal): Promise<Entry> {
    const page = await listChildren(this.conn, prefix, { ...this.options, expectedKeys: this.keysOf(prefix), signal });
    this.queryCount += page.queries;
    const entry: Entry = {
      prefix,
      children: page.children,
      next: page.next,
      revision: page.revision,
      totalKeys: page.totalKeys,
    };
    if (this.disposed) return entry;
    this.entries.set(keyId(prefix), entry);
    const liveMax = this.options.liveMaxKeys ?? 0;
    if (liveMax > 0 && page.totalKeys !== undefined && page.totalKeys <= liveMax) {
      this.watch(entry);
    }
    return entry;
  }

  /** Keys under `prefix` as its parent's cached listing saw them, when it saw them all. */
  private keysOf(prefix: Buffer): number | undefined {
    const sep = Buffer.from(this.options.separator, 'utf8');
    if (!sep.length || prefix.length <= sep.length) return undefined;
    const cut = prefix.subarray(0, prefix.length - sep.length).lastIndexOf(sep);
    const parent = cut < 0 ? Buffer.alloc(0) : prefix.subarray(0, cut + sep.length);
    return this.entries.get(keyId(parent))?.children.find((c) => c.key.equals(prefix))?.keys;
  }

  /**
   * Keeps `entry` current from the revision after its listing, with a {@link ResilientWatch}: it fails over
   * from a silent member and resumes without loss; meanwhile the listing says since when it is stale.
   */
  private watch(entry: Entry): void {
    const watch = new ResilientWatch(this.conn, {
      key: entry.prefix,
      prefix: true,
      startRevision: String(BigInt(entry.revision) + 1n),
    });
    entry.stopWatch = () => {
      entry.stopWatch = undefined;
      watch.stop();
    };
    watch.onEvents((events) => {
      for (const e of events) {
        if (e.type === 'put') this.applyPut(entry, e.key);
        else void this.applyDelete(entry, e.key);
      }
    });
    watch.onStatus((status) => {
      if (status.state === 'stopped') return;
      if (status.state === 'compacted') {
        // History it needs is gone: forget the listing rather than show one that looks live but is not.
        entry.stopWatch?.();
        this.entries.delete(keyId(entry.prefix));
        this.changeEmitter.fire(entry.prefix);
        return;
      }
      const staleSince = status.state === 'live' ? undefined : status.staleSince;
      if (staleSince !== entry.staleSince) {
        entry.staleSince = staleSince;
        this.changeEmitter.fire(entry.prefix);
      }
    });
    watch.start();
  }

  private childFor(entry: Entry, key: Buffer): KeyspaceChild | undefined {
    if (!startsWith(key, entry.prefix)) return undefined;
    const rest = key.subarray(entry.prefix.length);
    const sep = Buffer.from(this.options.separator, 'utf8');
    const cut = sep.length ? rest.indexOf(sep) : -1;
    if (cut < 0) return { kind: 'key', key, name: rest };
    return {
      kind: 'folder',
      key: key.subarray(0, entry.prefix.length + cut + sep.length),
      name: rest.subarray(0, cut + sep.length),
    };
  }

  private applyPut(entry: Entry, key: Buffer): void {
    const child = this.childFor(entry, key);
    if (!child || entry.children.some((c) => c.key.equals(child.key))) return;
    // Beyond the loaded pages the next "Load more" will find it.
    if (entry.next && Buffer.compare(child.key, entry.next) >= 0) return;
    const at = entry.children.findIndex((c) => Buffer.compare(c.key, child.key) > 0);
    entry.children.splice(at < 0 ? entry.children.length : at, 0, child);
    if (entry.totalKeys !== undefined) entry.totalKeys++;
    this.changeEmitter.fire(entry.prefix);
  }

  private async applyDelete(entry: Entry, key: Buffer): Promise<void> {
    const child = this.childFor(entry, key);
    if (!child) return;
    const index = entry.children.findIndex((c) => c.key.equals(child.key));
    if (index < 0) return;
    if (entry.totalKeys !== undefined) entry.totalKeys--;
    if (child.kind === 'folder') {
      // The folder disappears only when its last key goes: ask the server (small folders only are live).
      const abs = this.conn.absoluteKey(child.key);
      const res = await this.conn.call('check folder', (c) =>
        c.kv.range({ key: abs, range_end: prefixEnd(abs), keys_only: true, limit: 1 }),
      );
      this.queryCount++;
      if (res.kvs.length > 0) return;
    }
    const again = entry.children.findIndex((c) => c.key.equals(child.key));
    if (again >= 0) entry.children.splice(again, 1);
    this.changeEmitter.fire(entry.prefix);
  }
}

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
}
