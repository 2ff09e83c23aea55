import type { ICompare, IRangeResponse, IRequestOp, ITxnResponse } from 'etcd3';
import {
  BatchReport,
  BulkOptions,
  BulkResult,
  ExistingKeyMode,
  RunnerBatch,
  atomicRefusal,
  checkCheckpoint,
  checkMaxTxnOps,
  chunk,
  currentRevision,
  fingerprintItems,
  resumeFloor,
  revisionTracker,
  runBatches,
} from './batchRunner';
import { BulkItem, DeleteTarget, normalizeDeleteTargets } from './bulkInput';
import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { displayKey, prefixEnd } from './keyCodec';
import { countSpans, oneKeySpan, prefixSpan } from './keyspace/counts';

/** Re-plans of one batch when keys keep changing under it, before giving up on it. */
const MAX_ATTEMPTS = 8;

/** Attempts with the one-compare range guard before a batch falls back to a compare per key. */
const RANGE_GUARD_ATTEMPTS = 2;

/**
 * The range guard reads every key in its range on the server: used only where the range holds at most this many
 * keys per key of the batch (counted before the run), so keys of others between ours cannot make it expensive.
 */
const RANGE_GUARD_MAX_DENSITY = 2;

// ---------------------------------------------------------------------------------------------------------------
// Bulk put

/** What one attempt of a batch does with each key, from what the keys looked like (their mod_revision, "0" absent). */
export type KeyPlan = 'write' | 'skip' | 'conflict';

export function planBatch(mode: ExistingKeyMode, items: readonly BulkItem[], observed: readonly string[]): KeyPlan[] {
  return items.map((item, i) => {
    const mod = observed[i] ?? '0';
    if (mod === '0' || mode === 'overwrite') return 'write';
    if (mode === 'skip') return 'skip';
    return item.modRevision !== undefined && item.modRevision === mod ? 'write' : 'conflict';
  });
}

/**
 * How a batch proves it applies at most once. 'keys': one compare per key (its mod_revision is the one last seen,
 * first assumed absent). 'range' (overwrite mode only): one compare over the batch's key range, "nothing in
 * [first, last] was modified after the newest revision this run has seen" — our own commit falsifies it just as
 * surely, at the cost of one compare instead of 128 (etcd ≥ 3.3 compares a whole range through `range_end`).
 */
export type BatchGuard = 'keys' | 'range';

/**
 * One batch of puts as a guarded Txn (see {@link BatchGuard}), so a Txn whose answer was lost and is sent again — by
 * etcd3's own retry or by a resume — cannot apply twice: the first commit changed the revisions it compares. When
 * the compare fails, the failure branch returns the keys' revisions; if the keys carry our values at one revision
 * newer than any read before sending, that was our commit (confirmed against history), otherwise the batch is
 * re-planned and sent again (after {@link RANGE_GUARD_ATTEMPTS} failed range guards, with a compare per key).
 */
export function putBatch(
  conn: EtcdConnection,
  index: number,
  items: readonly BulkItem[],
  mode: ExistingKeyMode,
  revisions: { known(): string; saw(revision: string): void; readonly floor: string },
  operation = 'write',
  guard: BatchGuard = 'keys',
): RunnerBatch {
  const abs = items.map((i) => conn.absoluteKey(i.key));
  const span = keySpan(abs);
  const base = {
    index,
    firstKey: displayKey(items[0].key),
    lastKey: displayKey(items[items.length - 1].key),
    ops: items.length,
  };
  const report = (status: 'committed' | 'skipped', revision: string, plan: KeyPlan[]): BatchReport => ({
    ...base,
    status,
    revision,
    written: plan.filter((p) => p === 'write').length,
    skipped: plan.filter((p) => p === 'skip').length,
    conflicts: plan.filter((p) => p === 'conflict').length,
  });
  return {
    ...base,
    async exec(resumeUnknown) {
      if (resumeUnknown) {
        const earlier = await findOwnCommit(conn, abs, items, mode, revisions.floor);
        if (earlier) return report('committed', earlier.revision, earlier.plan);
      }
      let observed: string[] = items.map(() => '0');
      let rangeAttempts = guard === 'range' && mode === 'overwrite' ? RANGE_GUARD_ATTEMPTS : 0;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const known = revisions.known();
        const plan = planBatch(mode, items, observed);
        const writes = plan.flatMap((p, i) => (p === 'write' ? [i] : []));
        if (writes.length === 0) return report('skipped', known, plan);
        const byRange = rangeAttempts-- > 0;
        const compare: ICompare[] = byRange
          ? [
              {
                key: span.key,
                range_end: span.range_end,
                target: 'Mod',
                result: 'Less',
                mod_revision: String(BigInt(known) + 1n),
              } as ICompare,
            ]
          : abs.map((key, i) => ({ key, target: 'Mod', result: 'Equal', mod_revision: observed[i] }));
        const failure: IRequestOp[] = byRange
          ? [{ request_range: { ...span, keys_only: true } }]
          : abs.map((key) => ({ request_range: { key, keys_only: true } }));
        const res: ITxnResponse = await conn.write(
          `${operation} batch ${index + 1} (${base.firstKey} … ${base.lastKey})`,
          (c) =>
            c.kv.txn({
              compare,
              // No lease field when there is none: the client parses every 64-bit number it sends (lease "0" included).
              success: writes.map((i) => {
                const { value, lease } = items[i];
                return { request_put: lease ? { key: abs[i], value, lease } : { key: abs[i], value } };
              }),
              failure,
            }),
        );
        revisions.saw(res.header.revision);
        if (res.succeeded) return report('committed', res.header.revision, plan);
        const now = byRange
          ? modsIn(res.responses[0]?.response_range, abs)
          : res.responses.map((r) => r.response_range?.kvs[0]?.mod_revision ?? '0');
        if (writes.some((i) => BigInt(now[i]) > BigInt(known))) {
          const earlier = await findOwnCommit(conn, abs, items, mode, known);
          if (earlier) return report('committed', earlier.revision, earlier.plan);
        }
        observed = now;
      }
      throw new EtcdExplorerError(
        'unknown',
        `Batch ${index + 1}: its keys kept changing under ${MAX_ATTEMPTS} attempts; nothing of it was written.`,
      );
    },
  };
}

/** [smallest, largest] of the keys as a range request's key / range_end. */
function keySpan(keys: readonly Buffer[]): { key: Buffer; range_end: Buffer } {
  let lo = keys[0];
  let hi = keys[0];
  for (const k of keys) {
    if (Buffer.compare(k, lo) < 0) lo = k;
    if (Buffer.compare(k, hi) > 0) hi = k;
  }
  return { key: lo, range_end: Buffer.concat([hi, Buffer.from([0])]) };
}

/** Each key's mod_revision in a keys-only range response ("0" where absent). */
function modsIn(range: IRangeResponse | undefined, keys: readonly Buffer[]): string[] {
  const mods = new Map((range?.kvs ?? []).map((kv) => [kv.key.toString('latin1'), kv.mod_revision]));
  return keys.map((k) => mods.get(k.toString('latin1')) ?? '0');
}

/**
 * Which batches may use the range guard: those whose key range holds at most {@link RANGE_GUARD_MAX_DENSITY} keys
 * per key of the batch now (count-only ranges at one revision, a Txn of up to `maxTxnOps` of them per request).
 */
async function rangeGuards(
  conn: EtcdConnection,
  batches: readonly (readonly BulkItem[])[],
  maxTxnOps: number,
  signal?: AbortSignal,
): Promise<{ guards: BatchGuard[]; revision?: string }> {
  const guards: BatchGuard[] = [];
  let revision: string | undefined;
  for (const group of chunk(batches, maxTxnOps)) {
    const res = await conn.call(
      'count the keys around each batch',
      (c) =>
        c.kv.txn({
          compare: [],
          success: group.map((items) => ({
            request_range: {
              ...keySpan(items.map((i) => conn.absoluteKey(i.key))),
              count_only: true,
              ...(revision ? { revision } : {}),
            },
          })),
          failure: [],
        }),
      signal,
    );
    revision ??= res.header.revision;
    res.responses.forEach((r, i) =>
      guards.push(Number(r.response_range.count) <= RANGE_GUARD_MAX_DENSITY * group[i].length ? 'range' : 'keys'),
    );
  }
  return { guards, revision };
}

/**
 * Did a Txn of ours for this batch commit after `known`? Finds the revision most of the batch's keys share with our
 * values, then checks history: just before it, our plan would have written exactly the keys that changed at it,
 * all with our values. Without history (compacted) the current values alone decide.
 */
async function findOwnCommit(
  conn: EtcdConnection,
  abs: readonly Buffer[],
  items: readonly BulkItem[],
  mode: ExistingKeyMode,
  known: string,
): Promise<{ revision: string; plan: KeyPlan[] } | undefined> {
  const read = async (revision?: string, keysOnly = false): Promise<IRangeResponse[]> => {
    const res = await conn.call('check which batches committed', (c) =>
      c.kv.txn({
        compare: [],
        success: abs.map((key) => ({
          request_range: { key, ...(revision ? { revision } : {}), ...(keysOnly ? { keys_only: true } : {}) },
        })),
        failure: [],
      }),
    );
    return res.responses.map((r) => r.response_range);
  };
  const now = await read();
  const votes = new Map<string, number>();
  now.forEach((r, i) => {
    const kv = r?.kvs[0];
    if (kv && BigInt(kv.mod_revision) > BigInt(known) && kv.value.equals(items[i].value)) {
      votes.set(kv.mod_revision, (votes.get(kv.mod_revision) ?? 0) + 1);
    }
  });
  if (votes.size === 0) return undefined;
  const candidate = [...votes].sort((a, b) => b[1] - a[1] || (BigInt(b[0]) > BigInt(a[0]) ? 1 : -1))[0][0];
  let at: IRangeResponse[];
  let before: IRangeResponse[];
  try {
    at = await read(candidate);
    before = await read(String(BigInt(candidate) - 1n), true);
  } catch (err) {
    if (err instanceof EtcdExplorerError && err.kind === 'compacted') {
      const plan = now.map((r): KeyPlan => (r?.kvs[0]?.mod_revision === candidate ? 'write' : 'skip'));
      return { revision: candidate, plan };
    }
    throw err;
  }
  const changed = at.map((r, i) => {
    const kv = r?.kvs[0];
    return kv !== undefined && kv.mod_revision === candidate && kv.value.equals(items[i].value);
  });
  const plan = planBatch(
    mode,
    items,
    before.map((r) => r?.kvs[0]?.mod_revision ?? '0'),
  );
  const matches = plan.every((p, i) => (p === 'write') === changed[i]) && changed.some(Boolean);
  return matches ? { revision: candidate, plan } : undefined;
}

/** The items in key order, each key once with its last value (a stable sort keeps repeats in input order). */
function sortedUnique(items: readonly BulkItem[]): { items: BulkItem[]; duplicates: number } {
  const sorted = [...items].sort((a, b) => Buffer.compare(a.key, b.key));
  const out: BulkItem[] = [];
  for (const item of sorted) {
    if (out.length && out[out.length - 1].key.equals(item.key)) out[out.length - 1] = item;
    else out.push(item);
  }
  return { items: out, duplicates: items.length - out.length };
}

/**
 * Writes many keys in Txns of at most max-txn-ops puts, `concurrency` at a time. Existing keys follow
 * `options.mode` (default overwrite). Repeated keys are dropped first (the last value wins), the rest are sent in
 * key order (each batch one narrow range). Each batch is guarded so that it applies at most once, even when
 * re-sent after a lost answer or resumed from the checkpoint.
 */
export async function bulkPut(
  conn: EtcdConnection,
  items: readonly BulkItem[],
  options: BulkOptions = {},
): Promise<BulkResult> {
  conn.assertWritable(`write ${items.length} keys`);
  const maxTxnOps = checkMaxTxnOps(options.maxTxnOps);
  const mode = options.mode ?? 'overwrite';
  const { items: unique, duplicates } = sortedUnique(items);
  for (const item of unique) {
    if (item.key.length === 0) throw new EtcdExplorerError('invalid', 'A key is empty. Nothing was written.');
  }
  if (options.atomic && unique.length > maxTxnOps) throw atomicRefusal(unique.length, maxTxnOps, 'keys');
  const batchSize = options.atomic ? Math.max(unique.length, 1) : maxTxnOps;
  const kind = `put:${mode}`;
  const fingerprint = fingerprintItems(unique, kind);
  checkCheckpoint(options.checkpoint, { kind, total: unique.length, batchSize, fingerprint });
  const groups = chunk(unique, batchSize);
  // The counts' revision is read before any batch is sent, so it serves as the run's start revision too.
  const counted = mode === 'overwrite' ? await rangeGuards(conn, groups, maxTxnOps, options.signal) : undefined;
  const guards = counted?.guards ?? [];
  const start = counted?.revision ?? (await currentRevision(conn, options.signal));
  const floor = resumeFloor(options.checkpoint, start);
  const revisions = revisionTracker(start, floor);
  const batches = groups.map((b, i) => putBatch(conn, i, b, mode, revisions, 'write', guards[i] ?? 'keys'));
  return runBatches(batches, {
    kind,
    total: unique.length,
    batchSize,
    batchCount: batches.length,
    fingerprint,
    knownRevision: start,
    options,
    duplicates,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk delete

function targetRange(conn: EtcdConnection, t: DeleteTarget): { key: Buffer; range_end?: Buffer } {
  const abs = conn.absoluteKey(t.key);
  if (!t.prefix) return { key: abs };
  return { key: abs.length ? abs : Buffer.from([0]), range_end: prefixEnd(abs) };
}

function targetLabel(t: DeleteTarget): string {
  return t.prefix ? `${displayKey(t.key)}*` : displayKey(t.key);
}

/**
 * Counts what {@link bulkDelete} would remove through the scan engine's counts: one request per target (the
 * server's count floor; keys-only only for the sample shown in the confirmation), all at one pinned revision.
 * Overlapping targets are counted once.
 */
export async function previewBulkDelete(
  conn: EtcdConnection,
  targets: readonly DeleteTarget[],
  signal?: AbortSignal,
): Promise<{ keys: number; revision: string; sample: string[] }> {
  const spans = normalizeDeleteTargets(targets).map((t) =>
    t.prefix ? prefixSpan(conn, t.key) : oneKeySpan(conn, t.key),
  );
  const { counts, sample, revision } = await countSpans(conn, spans, {
    sample: 20,
    signal,
    operation: 'count keys to delete',
  });
  return {
    keys: counts.reduce((n, c) => n + c, 0),
    revision: revision ?? (await currentRevision(conn, signal)),
    sample: sample.map((kv) => displayKey(conn.relativeKey(kv.key))),
  };
}

/**
 * Deletes keys and prefixes in Txns of at most max-txn-ops delete-ranges. A delete applies at most once in
 * effect: re-sending one whose answer was lost removes only keys created under it since, which it was asked to
 * remove anyway (its count then says what the re-send removed).
 */
export async function bulkDelete(
  conn: EtcdConnection,
  targets: readonly DeleteTarget[],
  options: BulkOptions = {},
): Promise<BulkResult> {
  conn.assertWritable(`delete ${targets.length} keys or prefixes`);
  const maxTxnOps = checkMaxTxnOps(options.maxTxnOps);
  const normalized = normalizeDeleteTargets(targets);
  if (options.atomic && normalized.length > maxTxnOps)
    throw atomicRefusal(normalized.length, maxTxnOps, 'keys and prefixes');
  const batchSize = options.atomic ? Math.max(normalized.length, 1) : maxTxnOps;
  const fingerprint = fingerprintItems(
    normalized.map((t) => ({ key: t.key, value: Buffer.from(t.prefix ? 'prefix' : 'key') })),
    'delete',
  );
  checkCheckpoint(options.checkpoint, { kind: 'delete', total: normalized.length, batchSize, fingerprint });
  const start = await currentRevision(conn, options.signal);
  const batches = chunk(normalized, batchSize).map((group, index): RunnerBatch => {
    const base = {
      index,
      firstKey: targetLabel(group[0]),
      lastKey: targetLabel(group[group.length - 1]),
      ops: group.length,
    };
    return {
      ...base,
      async exec() {
        const res = await conn.write(`delete batch ${index + 1} (${base.firstKey} … ${base.lastKey})`, (c) =>
          c.kv.txn({
            compare: [],
            success: group.map((t) => ({ request_delete_range: targetRange(conn, t) })),
            failure: [],
          }),
        );
        const deleted = res.responses.reduce((n, r) => n + Number(r.response_delete_range?.deleted ?? 0), 0);
        return { ...base, status: 'committed', revision: res.header.revision, deleted };
      },
    };
  });
  return runBatches(batches, {
    kind: 'delete',
    total: normalized.length,
    batchSize,
    batchCount: batches.length,
    fingerprint,
    knownRevision: start,
    options,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Report

/** Markdown: totals, what did not commit (plainly), then every batch with its status and revision. */
export function renderBulkReport(result: BulkResult, title: string): string {
  const lines: string[] = [`# ${escapeMd(title)}`, ''];
  const by = (s: BatchReport['status']) => result.batches.filter((b) => b.status === s);
  const committed = by('committed');
  const earlier = committed.filter((b) => b.earlierRun).length;
  const failed = by('failed');
  const unknown = failed.filter((b) => b.outcomeUnknown);
  const notSent = by('notSent');
  const state = result.complete
    ? '**Complete**: every batch committed.'
    : result.cancelled
      ? '**Cancelled**: batches already sent were awaited; the rest were not sent.'
      : `**Stopped**: ${escapeMd(result.error ?? 'not every batch committed')}`;
  lines.push(state, '');
  lines.push(
    `- Items: ${result.keys}${result.duplicates ? ` (${result.duplicates} repeated keys dropped; the last value won)` : ''}`,
  );
  lines.push(
    `- Batches: ${result.batches.length} — ${committed.length} committed${earlier ? ` (${earlier} in an earlier run)` : ''}, ${by('skipped').length} with nothing to write, ${failed.length} failed, ${notSent.length} not sent`,
  );
  if (result.deleted) lines.push(`- Keys deleted: ${result.deleted}`);
  for (const note of result.notes ?? []) lines.push(`- ${escapeMd(note)}`);
  if (result.written || result.skipped || result.conflicts || !result.deleted) {
    lines.push(
      `- Keys written: ${result.written}, skipped (existed): ${result.skipped}, conflicts (changed since export): ${result.conflicts}${earlier ? ' — counts cover this run only' : ''}`,
    );
  }
  if (!result.complete) {
    lines.push('', '## Not committed', '');
    if (unknown.length) {
      lines.push(
        `- Outcome unknown (sent, no answer): batches ${unknown.map((b) => b.index + 1).join(', ')}. Resume from the checkpoint: it reads these keys back and re-sends only what did not commit.`,
      );
    }
    const plainFailed = failed.filter((b) => !b.outcomeUnknown);
    if (plainFailed.length)
      lines.push(`- Failed (nothing of them was written): batches ${plainFailed.map((b) => b.index + 1).join(', ')}.`);
    if (notSent.length)
      lines.push(
        `- Not sent: ${notSent.length} batches (${notSent.reduce((n, b) => n + b.ops, 0)} items), from batch ${notSent[0].index + 1}.`,
      );
  }
  lines.push('', '| # | Keys | First | Last | Status | Revision | Detail |', '|---:|---:|---|---|---|---:|---|');
  for (const b of result.batches) {
    const status =
      b.status === 'committed' && b.earlierRun ? 'committed (earlier run)' : b.outcomeUnknown ? 'unknown' : b.status;
    const detail = b.error
      ? b.error
      : b.deleted !== undefined
        ? `${b.deleted} deleted`
        : b.written !== undefined
          ? `${b.written} written${b.skipped ? `, ${b.skipped} skipped` : ''}${b.conflicts ? `, ${b.conflicts} conflicts` : ''}`
          : '';
    lines.push(
      `| ${b.index + 1} | ${b.ops} | ${escapeMd(b.firstKey)} | ${escapeMd(b.lastKey)} | ${status} | ${b.revision ?? ''} | ${escapeMd(detail)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_|<>[\]]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
}
