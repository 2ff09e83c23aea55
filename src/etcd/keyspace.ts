import { EtcdConnection } from './connection';
import { prefixEnd } from './keyCodec';

/** One immediate child of a folder: a key, or a folder (a prefix ending in the separator). */
export interface KeyspaceChild {
  readonly kind: 'key' | 'folder';
  /** Full key (or folder prefix, separator included) relative to the connection's namespace. */
  readonly key: Buffer;
  /** The segment shown in the tree: the child's bytes after the parent prefix. */
  readonly name: Buffer;
}

export interface ChildrenPage {
  readonly children: KeyspaceChild[];
  /** Revision every query of this listing was pinned to. */
  readonly revision: string;
  /** Where the next page starts, when the folder has more children than were asked for. */
  readonly next?: Buffer;
  /** Number of range requests sent. */
  readonly queries: number;
}

export interface ListOptions {
  readonly separator: string;
  readonly pageSize: number;
  /** Continue a listing: the `next` of the previous page. */
  readonly after?: Buffer;
  /** Pin to a revision (the previous page's) so pages are consistent. */
  readonly revision?: string;
  readonly signal?: AbortSignal;
}

/**
 * Immediate children of `prefix` (relative to the namespace) by skip-scan: one keys-only, limit-1 range per
 * child, seeking past each folder. Never reads values, never sends a sort order (etcd ≤ 3.6 then ignores the
 * limit and reads the whole range).
 */
export async function listChildren(conn: EtcdConnection, prefix: Buffer, options: ListOptions): Promise<ChildrenPage> {
  const separator = Buffer.from(options.separator, 'utf8');
  const absPrefix = conn.absoluteKey(prefix);
  const end = prefixEnd(absPrefix);
  // etcd rejects an empty key; "\0" is the first possible key.
  let start = options.after ? conn.absoluteKey(options.after) : absPrefix.length ? absPrefix : Buffer.from([0]);
  let revision = options.revision;
  const children: KeyspaceChild[] = [];
  let queries = 0;

  return conn.call(
    'list keys',
    async (client) => {
      while (children.length < options.pageSize) {
        const res = await client.kv.range({
          key: start,
          range_end: end,
          keys_only: true,
          limit: 1,
          ...(revision ? { revision } : {}),
        });
        queries++;
        revision ??= res.header.revision;
        if (res.kvs.length === 0) return { children, revision, queries };
        const absKey = res.kvs[0].key;
        const rest = absKey.subarray(absPrefix.length);
        const cut = separator.length ? rest.indexOf(separator) : -1;
        if (cut < 0) {
          const key = conn.relativeKey(absKey);
          children.push({ kind: 'key', key, name: rest });
          start = Buffer.concat([absKey, Buffer.from([0])]);
        } else {
          const folderAbs = absKey.subarray(0, absPrefix.length + cut + separator.length);
          children.push({ kind: 'folder', key: conn.relativeKey(folderAbs), name: rest.subarray(0, cut + separator.length) });
          const after = prefixEnd(folderAbs);
          if (after.length === 1 && after[0] === 0) return { children, revision, queries };
          start = after;
        }
      }
      const probe = await client.kv.range({ key: start, range_end: end, keys_only: true, limit: 1, revision });
      queries++;
      return {
        children,
        revision: revision ?? '0',
        queries,
        next: probe.kvs.length ? conn.relativeKey(Buffer.from(start)) : undefined,
      };
    },
    options.signal,
  );
}
