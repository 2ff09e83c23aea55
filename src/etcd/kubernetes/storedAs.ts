import type { EtcdConnection } from '../connection';
import { countSpans, oneKeySpan } from '../keyspace/counts';
import { StorageFormat, storageFormat } from './overview';

/** How one object's value is stored, and the revision that value had. */
export interface StoredAs {
  readonly format: StorageFormat;
  /** "aescbc:key1" for an encrypted value. */
  readonly provider?: string;
  readonly modRevision: string;
}

/**
 * How each of `keys` (relative to the namespace) is stored — protobuf, JSON, encrypted (with its provider and key
 * name) — from the first bytes of its value, all read at one revision through the scan engine (one request per
 * key, values kept only as far as the format). A key that does not exist has no entry (undefined).
 */
export async function storedAs(
  conn: EtcdConnection,
  keys: readonly Buffer[],
  signal?: AbortSignal,
): Promise<Array<StoredAs | undefined>> {
  if (!keys.length) return [];
  const { sample } = await countSpans(
    conn,
    keys.map((k) => oneKeySpan(conn, k)),
    { sample: keys.length, values: true, signal, operation: 'read how objects are stored' },
  );
  const found = new Map<string, StoredAs>();
  for (const kv of sample) {
    const { format, provider } = storageFormat(kv.value);
    found.set(kv.key.toString('hex'), { format, provider, modRevision: kv.mod_revision });
  }
  return keys.map((k) => found.get(conn.absoluteKey(k).toString('hex')));
}
