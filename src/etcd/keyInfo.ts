import { EtcdConnection } from './connection';
import { KeyMeta } from './keyspace';
import { countSpans, prefixSpan } from './keyspace/counts';

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

/**
 * Number of keys under a prefix: the scan engine's count (count_only: the server counts, nothing is transferred),
 * cancellable through the signal.
 */
export async function countKeys(conn: EtcdConnection, prefix: Buffer, signal?: AbortSignal): Promise<number> {
  const { counts } = await countSpans(conn, [prefixSpan(conn, prefix)], { signal, operation: 'count keys' });
  return counts[0];
}

/**
 * Keys starting with `typed` (relative to the namespace), keys-only, at most `limit`, in key order, and how many
 * there are: one request of the scan engine (without a sort order, so the limit is honoured by etcd ≤ 3.6).
 */
export async function searchKeys(
  conn: EtcdConnection,
  typed: Buffer,
  limit: number,
  signal?: AbortSignal,
): Promise<{ keys: Buffer[]; total: number }> {
  const { counts, sample } = await countSpans(conn, [prefixSpan(conn, typed)], {
    sample: limit,
    signal,
    operation: 'search keys',
  });
  return { keys: sample.map((kv) => conn.relativeKey(kv.key)), total: counts[0] };
}
