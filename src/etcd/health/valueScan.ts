import { EtcdConnection } from '../connection';
import { errorText, isCancellation } from '../errors';
import { displayKey } from '../keyCodec';
import { prefixSpan } from '../keyspace/counts';
import { orderedScan } from '../keyspace/orderedScan';
import { RangeReader } from '../keyspace/rangeReader';
import { LARGE_VALUES_KEPT, LargeValueScan } from './model';

/**
 * Reads values through the scan engine's ordered scan (never a sort order: etcd ≤ 3.6 ignores the limit then) at the
 * revision of a first count, at most `maxKeys` keys, and keeps the largest. The count is the only request that
 * visits the whole keyspace: pages are disjoint ranges sized from the density of the keys read (plain paging made
 * every page count all the keys after it). Pages are bounded in bytes from the values seen, a first one small
 * enough for values of the server's largest size. A failure after some keys were read ends the scan with what it
 * has, saying why.
 */
export async function scanLargeValues(
  conn: EtcdConnection,
  thresholdBytes: number,
  maxKeys: number,
  signal?: AbortSignal,
): Promise<LargeValueScan> {
  const PAGE_BYTES = 8 * 1024 * 1024;
  const span = prefixSpan(conn, Buffer.alloc(0));
  // etcd rejects an empty key; "\0" is the first possible key.
  const start = span.lo.length ? span.lo : Buffer.from([0]);
  const reader = new RangeReader(conn, { signal, operation: 'read values for the size scan' });
  const total = await reader.count(start, span.hi);
  const revision = reader.revision!;
  const large: Array<{ key: string; bytes: number }> = [];
  let largeCount = 0;
  let scanned = 0;
  let stoppedBecause: string | undefined;
  const pages = orderedScan(reader, start, span.hi, {
    pageSize: Math.max(2, Math.min(1000, maxKeys)),
    pageBytes: PAGE_BYTES,
    values: true,
    // Little read ahead: the scan stops at maxKeys.
    inFlight: 2,
  });
  try {
    for await (const kvs of pages) {
      for (const kv of kvs) {
        if (scanned >= maxKeys) break;
        scanned++;
        const bytes = kv.value.length;
        if (bytes >= thresholdBytes) {
          largeCount++;
          large.push({ key: displayKey(conn.relativeKey(kv.key)), bytes });
          large.sort((a, b) => b.bytes - a.bytes);
          if (large.length > LARGE_VALUES_KEPT) large.pop();
        }
      }
      if (scanned >= maxKeys) break;
    }
  } catch (err) {
    if (isCancellation(err) || scanned === 0) throw err;
    stoppedBecause = errorText(err);
  }
  if (!stoppedBecause && scanned >= maxKeys && scanned < total) stoppedBecause = `the scan stops after ${maxKeys} keys`;
  return { thresholdBytes, scanned, total, revision, large, largeCount, stoppedBecause };
}
