import { EtcdConnection } from './connection';
import { prefixEnd } from './keyCodec';
import { KeyMeta } from './keyspace';

/** Metadata of one key (keys-only: the value is never transferred), or undefined when it does not exist. */
export async function getKeyMeta(
  conn: EtcdConnection,
  key: Buffer,
  signal?: AbortSignal,
): Promise<KeyMeta | undefined> {
  const res = await conn.call(
    'read key metadata',
    (c) => c.kv.range({ key: conn.absoluteKey(key), keys_only: true }),
    signal,
  );
  const kv = res.kvs[0];
  return (
    kv && { createRevision: kv.create_revision, modRevision: kv.mod_revision, version: kv.version, lease: kv.lease }
  );
}

/** Number of keys under a prefix (count_only: the server counts, nothing is transferred). */
export async function countKeys(conn: EtcdConnection, prefix: Buffer, signal?: AbortSignal): Promise<number> {
  const abs = conn.absoluteKey(prefix);
  const res = await conn.call(
    'count keys',
    (c) => c.kv.range({ key: abs.length ? abs : Buffer.from([0]), range_end: prefixEnd(abs), count_only: true }),
    signal,
  );
  return Number(res.count);
}

/**
 * Keys starting with `typed` (relative to the namespace), keys-only, at most `limit`, in key order. Without a
 * sort order, so the limit is honoured by etcd ≤ 3.6.
 */
export async function searchKeys(
  conn: EtcdConnection,
  typed: Buffer,
  limit: number,
  signal?: AbortSignal,
): Promise<{ keys: Buffer[]; total: number }> {
  const abs = conn.absoluteKey(typed);
  const res = await conn.call(
    'search keys',
    (c) => c.kv.range({ key: abs.length ? abs : Buffer.from([0]), range_end: prefixEnd(abs), keys_only: true, limit }),
    signal,
  );
  return { keys: res.kvs.map((kv) => conn.relativeKey(kv.key)), total: Number(res.count) };
}
