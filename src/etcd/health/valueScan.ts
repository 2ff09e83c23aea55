import { EtcdConnection } from '../connection';
import { EtcdExplorerError, errorText, isCancellation } from '../errors';
import { displayKey, prefixEnd } from '../keyCodec';
import { LARGE_VALUES_KEPT, LargeValueScan } from './model';

/**
 * Reads values page by page (never a sort order: etcd ≤ 3.6 ignores the limit then) at one pinned revision,
 * at most `maxKeys` keys, and keeps the largest. Pages adapt to the values seen: many keys while values are
 * small, few after a big one (a page is one gRPC message, and values reach 1.5 MiB by default); a page that
 * still comes back too large is retried smaller.
 */
export async function scanLargeValues(
  conn: EtcdConnection,
  thresholdBytes: number,
  maxKeys: number,
  signal?: AbortSignal,
): Promise<LargeValueScan> {
  const PAGE_BYTES = 8 * 1024 * 1024;
  const ns = conn.namespace;
  const start = ns.length ? ns : Buffer.from([0]);
  const end = ns.length ? prefixEnd(ns) : Buffer.from([0]);
  const head = await conn.call(
    'count the keys',
    (c) => c.kv.range({ key: start, range_end: end, count_only: true }),
    signal,
  );
  const total = Number(head.count);
  const revision = head.header.revision;
  const large: Array<{ key: string; bytes: number }> = [];
  let largeCount = 0;
  let scanned = 0;
  let limit = 100;
  let key = start;
  let stoppedBecause: string | undefined;
  for (;;) {
    if (scanned >= maxKeys) {
      if (scanned < total) stoppedBecause = `the scan stops after ${maxKeys} keys`;
      break;
    }
    let page;
    try {
      const pageLimit = Math.min(limit, maxKeys - scanned);
      page = await conn.call(
        'read values for the size scan',
        (c) => c.kv.range({ key, range_end: end, limit: pageLimit, revision }),
        signal,
      );
    } catch (err) {
      if (err instanceof EtcdExplorerError && err.kind === 'valueTooLarge' && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 8));
        continue;
      }
      if (isCancellation(err) || scanned === 0) throw err;
      stoppedBecause = errorText(err);
      break;
    }
    let biggest = 0;
    for (const kv of page.kvs) {
      scanned++;
      const bytes = kv.value.length;
      biggest = Math.max(biggest, bytes);
      if (bytes >= thresholdBytes) {
        largeCount++;
        large.push({ key: displayKey(conn.relativeKey(kv.key)), bytes });
        large.sort((a, b) => b.bytes - a.bytes);
        if (large.length > LARGE_VALUES_KEPT) large.pop();
      }
    }
    if (!page.more || page.kvs.length === 0) break;
    key = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    limit = Math.max(1, Math.min(1000, Math.floor(PAGE_BYTES / Math.max(biggest, 1024))));
  }
  return { thresholdBytes, scanned, total, revision, large, largeCount, stoppedBecause };
}
