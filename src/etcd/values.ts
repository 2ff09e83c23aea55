import type { IKeyValue } from 'etcd3';
import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { displayKey, prefixEnd } from './keyCodec';
import { countSpans, oneKeySpan, prefixSpan } from './keyspace/counts';
import { ClosableStream, endStream } from './streams';

/** A key's value with its metadata, as read at `revision`. Revisions and lease ids are decimal strings. */
export interface ValueRecord {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly createRevision: string;
  readonly modRevision: string;
  readonly version: string;
  /** "0" when the key has no lease. */
  readonly lease: string;
  /** Store revision of the read. */
  readonly revision: string;
}

export type CasResult =
  | { readonly ok: true; readonly revision: string }
  /** Nothing was written; `current` is the key now (undefined: it was deleted). */
  | { readonly ok: false; readonly current?: ValueRecord; readonly revision: string };

/** etcd's default --max-request-bytes; values are checked against it before sending. */
export const DEFAULT_MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

function record(kv: IKeyValue, revision: string, conn: EtcdConnection): ValueRecord {
  return {
    key: conn.relativeKey(kv.key),
    value: kv.value,
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    version: kv.version,
    lease: kv.lease,
    revision,
  };
}

/** Reads a key with its metadata (at `atRevision` for history), or undefined when it does not exist. */
export async function readValue(
  conn: EtcdConnection,
  key: Buffer,
  atRevision?: string,
  signal?: AbortSignal,
): Promise<ValueRecord | undefined> {
  const res = await conn.call(
    atRevision ? `read ${displayKey(key)} at revision ${atRevision}` : `read ${displayKey(key)}`,
    (c) => c.kv.range({ key: conn.absoluteKey(key), ...(atRevision ? { revision: atRevision } : {}) }),
    signal,
  );
  return res.kvs[0] && record(res.kvs[0], res.header.revision, conn);
}

/** Refuses values over the server's request limit before anything is sent. */
export function checkValueSize(value: Buffer, maxBytes = DEFAULT_MAX_VALUE_BYTES): void {
  // The request also carries the key and framing; leave a little room.
  if (value.length > maxBytes - 512) {
    throw new EtcdExplorerError(
      'valueTooLarge',
      `The value is ${formatBytes(value.length)}; the server accepts requests up to ${formatBytes(maxBytes)} (--max-request-bytes). Nothing was written.`,
    );
  }
}

/**
 * Compare-and-swap save: one Txn that writes only if the key's mod_revision is still `expectedModRevision`
 * ("0": the key must not exist), keeps the key's current lease (ignore_lease), and otherwise returns the
 * current record so the caller can show a conflict. Never a blind overwrite.
 */
export async function casPut(
  conn: EtcdConnection,
  key: Buffer,
  value: Buffer,
  expectedModRevision: string,
  options: { maxValueBytes?: number; lease?: string } = {},
): Promise<CasResult> {
  checkValueSize(value, options.maxValueBytes);
  const abs = conn.absoluteKey(key);
  const creating = expectedModRevision === '0';
  const res = await conn.write(`save ${displayKey(key)}`, (c) =>
    c.kv.txn({
      compare: [{ key: abs, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
      success: [
        {
          request_put: creating
            ? { key: abs, value, lease: options.lease ?? '0' }
            : options.lease !== undefined
              ? { key: abs, value, lease: options.lease }
              : { key: abs, value, ignore_lease: true },
        },
      ],
      failure: [{ request_range: { key: abs } }],
    }),
  );
  if (res.succeeded) return { ok: true, revision: res.header.revision };
  const kv = res.responses[0]?.response_range?.kvs[0];
  return { ok: false, current: kv ? record(kv, res.header.revision, conn) : undefined, revision: res.header.revision };
}

/** Creates a key that must not exist yet (optionally on a lease). */
export async function createKey(
  conn: EtcdConnection,
  key: Buffer,
  value: Buffer,
  options: { lease?: string; maxValueBytes?: number } = {},
): Promise<CasResult> {
  return casPut(conn, key, value, '0', options);
}

/** Deletes a key only if it is still at `expectedModRevision`. */
export async function deleteKey(conn: EtcdConnection, key: Buffer, expectedModRevision: string): Promise<CasResult> {
  const abs = conn.absoluteKey(key);
  const res = await conn.write(`delete ${displayKey(key)}`, (c) =>
    c.kv.txn({
      compare: [{ key: abs, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision }],
      success: [{ request_delete_range: { key: abs } }],
      failure: [{ request_range: { key: abs } }],
    }),
  );
  if (res.succeeded) return { ok: true, revision: res.header.revision };
  const kv = res.responses[0]?.response_range?.kvs[0];
  return { ok: false, current: kv ? record(kv, res.header.revision, conn) : undefined, revision: res.header.revision };
}

/**
 * Copies `from` to `to` (same value and lease) and, for a rename, deletes `from` — in one Txn guarded by
 * `from` still being at `expectedModRevision` and `to` not existing.
 */
export async function copyKey(
  conn: EtcdConnection,
  from: ValueRecord,
  to: Buffer,
  options: { deleteSource: boolean },
): Promise<{ ok: boolean; reason?: 'sourceChanged' | 'targetExists'; revision: string }> {
  const absFrom = conn.absoluteKey(from.key);
  const absTo = conn.absoluteKey(to);
  const verb = options.deleteSource ? 'rename' : 'duplicate';
  const res = await conn.write(`${verb} ${displayKey(from.key)}`, (c) =>
    c.kv.txn({
      compare: [
        { key: absFrom, target: 'Mod', result: 'Equal', mod_revision: from.modRevision },
        { key: absTo, target: 'Create', result: 'Equal', create_revision: '0' },
      ],
      success: [
        { request_put: { key: absTo, value: from.value, lease: from.lease } },
        ...(options.deleteSource ? [{ request_delete_range: { key: absFrom } }] : []),
      ],
      failure: [{ request_range: { key: absTo, count_only: true } }],
    }),
  );
  if (res.succeeded) return { ok: true, revision: res.header.revision };
  const targetExists = Number(res.responses[0]?.response_range?.count ?? 0) > 0;
  return { ok: false, reason: targetExists ? 'targetExists' : 'sourceChanged', revision: res.header.revision };
}

/** What a prefix delete would remove, pinned at `revision`. */
export interface PrefixPreview {
  readonly prefix: Buffer;
  readonly count: number;
  readonly sample: Buffer[];
  readonly revision: string;
}

/**
 * What deleting `prefix` would remove: the scan engine's count of the keys under it and the first `sampleSize` of
 * them, in one request at one revision (the one the guarded delete compares against).
 */
export async function previewPrefixDelete(
  conn: EtcdConnection,
  prefix: Buffer,
  sampleSize = 20,
  signal?: AbortSignal,
): Promise<PrefixPreview> {
  const { counts, sample, revision } = await countSpans(conn, [prefixSpan(conn, prefix)], {
    sample: sampleSize,
    signal,
    operation: `preview delete of ${displayKey(prefix)}`,
  });
  return { prefix, count: counts[0], sample: sample.map((kv) => conn.relativeKey(kv.key)), revision: revision! };
}

/**
 * Deletes everything under the previewed prefix in one Txn that runs only if no key under it was created or
 * modified since the preview (compare mod_revision over the whole range).
 */
export async function deletePrefixGuarded(
  conn: EtcdConnection,
  preview: PrefixPreview,
): Promise<{ ok: true; deleted: number; revision: string } | { ok: false; revision: string }> {
  const abs = conn.absoluteKey(preview.prefix);
  const start = abs.length ? abs : Buffer.from([0]);
  const end = prefixEnd(abs);
  const res = await conn.write(`delete ${preview.count} keys under ${displayKey(preview.prefix)}`, (c) =>
    c.kv.txn({
      compare: [
        {
          key: start,
          range_end: end,
          target: 'Mod',
          result: 'Less',
          mod_revision: String(BigInt(preview.revision) + 1n),
        },
      ],
      success: [{ request_delete_range: { key: start, range_end: end } }],
      failure: [],
    }),
  );
  if (!res.succeeded) return { ok: false, revision: res.header.revision };
  return {
    ok: true,
    deleted: Number(res.responses[0]?.response_delete_range?.deleted ?? 0),
    revision: res.header.revision,
  };
}

/** Versions of a key from newest to oldest, and where history stops. */
export interface KeyHistory {
  readonly versions: ValueRecord[];
  /** True when older versions exist but were compacted away. */
  readonly compacted: boolean;
  /** The compaction revision, when the server told it. */
  readonly compactedBefore?: string;
  /** True when `limit` stopped the walk before the key's creation. */
  readonly truncated: boolean;
}

/**
 * Walks a key's history back through its mod revisions (each step reads at the previous revision), until its
 * creation, the compaction point, or `limit` versions.
 */
export async function keyHistory(
  conn: EtcdConnection,
  key: Buffer,
  limit = 50,
  signal?: AbortSignal,
): Promise<KeyHistory> {
  const versions: ValueRecord[] = [];
  let current = await readValue(conn, key, undefined, signal);
  while (current && versions.length < limit) {
    versions.push(current);
    if (current.version === '1') return { versions, compacted: false, truncated: false };
    const before = String(BigInt(current.modRevision) - 1n);
    try {
      current = await readValue(conn, key, before, signal);
    } catch (err) {
      if (err instanceof EtcdExplorerError && err.kind === 'compacted') {
        return { versions, compacted: true, compactedBefore: await compactRevision(conn), truncated: false };
      }
      throw err;
    }
  }
  return { versions, compacted: false, truncated: current !== undefined };
}

const COMPACTION_PROBE_MS = 1500;

/**
 * The cluster's compaction revision, learned from the raw watch stream: a watch created at revision 1 is
 * cancelled with `compact_revision` when history was compacted (the high-level watcher hides it).
 */
export async function compactRevision(conn: EtcdConnection): Promise<string | undefined> {
  return conn.call('find the compaction revision', async (c) => {
    const stream = await c.watchClient.watch();
    try {
      return await new Promise<string | undefined>((resolve, reject) => {
        // etcd cancels an unsynced watch from its sync loop (every 100 ms); no cancel by then: not compacted.
        const timer = setTimeout(() => resolve(undefined), COMPACTION_PROBE_MS);
        stream.on('data', (res: { created: boolean; canceled: boolean; compact_revision: string }) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            clearTimeout(timer);
            resolve(res.compact_revision);
          }
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        // One key nobody writes: replaying its history from revision 1 sends nothing but the answer.
        stream.write({ create_request: { key: Buffer.from('\0etcd-explorer/compaction-probe'), start_revision: '1' } });
      });
    } finally {
      endStream(stream as unknown as ClosableStream);
    }
  });
}

/** A key deleted under a prefix since an earlier revision, with its last value (restorable until compaction). */
export interface DeletedKey {
  readonly key: Buffer;
  readonly lastValue: ValueRecord;
}

/** Keys present under `prefix` at `sinceRevision` that are gone now (at most `limit`). */
export async function deletedSince(
  conn: EtcdConnection,
  prefix: Buffer,
  sinceRevision: string,
  limit = 1000,
): Promise<DeletedKey[]> {
  const abs = conn.absoluteKey(prefix);
  const start = abs.length ? abs : Buffer.from([0]);
  const end = prefixEnd(abs);
  const then = await conn.call(`list ${displayKey(prefix)} at revision ${sinceRevision}`, (c) =>
    c.kv.range({ key: start, range_end: end, revision: sinceRevision, limit }),
  );
  // Only those keys are checked now (the scan engine's counts, in Txns of ranges), not everything under the prefix.
  const { counts } = await countSpans(
    conn,
    then.kvs.map((kv) => oneKeySpan(conn, conn.relativeKey(kv.key))),
    { operation: `list ${displayKey(prefix)}` },
  );
  return then.kvs
    .filter((_, i) => counts[i] === 0)
    .map((kv) => ({ key: conn.relativeKey(kv.key), lastValue: record(kv, sinceRevision, conn) }));
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}
