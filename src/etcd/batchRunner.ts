import { createHash } from 'node:crypto';
import { BulkItem } from './bulkInput';
import { EtcdConnection } from './connection';
import { EtcdErrorKind, EtcdExplorerError, errorText, translateError } from './errors';

export type ExistingKeyMode = 'skip' | 'overwrite' | 'ifUnchanged';

export interface BatchReport {
  readonly index: number;
  readonly firstKey: string;
  readonly lastKey: string;
  readonly ops: number;
  readonly status: 'committed' | 'failed' | 'notSent' | 'skipped';
  /** Header revision of the commit (of the read, for a batch that had nothing to write). */
  readonly revision?: string;
  readonly error?: string;
  readonly written?: number;
  readonly skipped?: number;
  readonly conflicts?: number;
  /** Keys removed (bulk delete). */
  readonly deleted?: number;
  /** Committed by an earlier run this one resumed; its counts are not known here. */
  readonly earlierRun?: boolean;
  /** Sent, but no answer came back: it may or may not have committed. Resuming from the checkpoint settles it. */
  readonly outcomeUnknown?: boolean;
}

/**
 * Where a bulk run stands, to resume it. `unknown` lists batches that were sent without an answer (in flight,
 * or the connection dropped): a resume reads those keys back and re-sends only what did not commit.
 */
export interface BulkCheckpoint {
  readonly version: 1;
  /** "put:<mode>", "import:<mode>" or "delete": a checkpoint only resumes the same kind of run. */
  readonly kind: string;
  /** Items (keys, or delete targets) in the whole run. */
  readonly total: number;
  readonly batchSize: number;
  readonly committed: Array<{ index: number; revision: string }>;
  readonly unknown: number[];
  /** SHA-256 of the run's input, so a checkpoint is never applied to different data. */
  readonly fingerprint?: string;
  /** A store revision read before any batch listed in `unknown` was sent; their commits are newer. */
  readonly knownRevision?: string;
}

export interface BulkOptions {
  /** Operations per Txn: the server's --max-txn-ops (128 by default). */
  readonly maxTxnOps?: number;
  /** Txns in flight at once (default 16). */
  readonly concurrency?: number;
  /** All in one Txn, or nothing: refused when the set does not fit. */
  readonly atomic?: boolean;
  /** Stops sending new batches; batches already sent are awaited so the report stays exact. */
  readonly signal?: AbortSignal;
  readonly onBatch?: (b: BatchReport, done: number, total: number) => void;
  readonly checkpoint?: BulkCheckpoint;
  readonly onCheckpoint?: (c: BulkCheckpoint) => void;
  /** What to do with keys that exist (default 'overwrite' for bulk put). */
  readonly mode?: ExistingKeyMode;
}

export interface BulkResult {
  /** In batch order. */
  readonly batches: BatchReport[];
  /** Items in the input (after dropping duplicates). */
  readonly keys: number;
  readonly written: number;
  readonly skipped: number;
  readonly conflicts: number;
  /** Keys removed (bulk delete). */
  readonly deleted?: number;
  /** Keys given more than once in the input (the last value won). */
  readonly duplicates?: number;
  readonly complete: boolean;
  readonly cancelled: boolean;
  readonly error?: string;
  readonly checkpoint: BulkCheckpoint;
  /** Things the user should know about the run as a whole (e.g. that an import dropped leases). */
  readonly notes?: string[];
}

export const DEFAULT_MAX_TXN_OPS = 128;
/** Batches in flight: with fewer, etcd commits fewer Txns per round and bulk put falls well behind raw Txns (bench:import). */
export const DEFAULT_CONCURRENCY = 16;

/** Consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * SHA-256 over the items in order (each part framed by its 32-bit length), to tie a checkpoint to its input. The
 * framed parts are gathered in a 64 KiB buffer and hashed in slices: one hash call per ~500 small items, not eight
 * per item (the digest is the same either way).
 */
export function fingerprintItems(items: readonly BulkItem[], extra = ''): string {
  const h = createHash('sha256');
  h.update(extra);
  const buf = Buffer.allocUnsafe(64 * 1024);
  let at = 0;
  const frame = (part: Buffer | string) => {
    const size = typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    if (at + 4 + size > buf.length) {
      h.update(buf.subarray(0, at));
      at = 0;
    }
    if (4 + size > buf.length) {
      buf.writeUInt32BE(size, 0);
      h.update(buf.subarray(0, 4));
      h.update(part);
      return;
    }
    buf.writeUInt32BE(size, at);
    at += 4;
    at += typeof part === 'string' ? buf.write(part, at) : part.copy(buf, at);
  };
  for (const item of items) {
    frame(item.key);
    frame(item.value);
    frame(item.lease ?? '0');
    frame(item.modRevision ?? '');
  }
  h.update(buf.subarray(0, at));
  return h.digest('hex');
}

/** A batch the runner schedules: `exec` sends it (and resolves it first when an earlier run left it unknown). */
export interface RunnerBatch {
  readonly index: number;
  readonly firstKey: string;
  readonly lastKey: string;
  readonly ops: number;
  exec(resumeUnknown: boolean): Promise<BatchReport>;
}

interface RunnerSetup {
  readonly kind: string;
  readonly total: number;
  readonly batchSize: number;
  readonly batchCount: number;
  readonly fingerprint: string;
  readonly knownRevision: string;
  readonly options: BulkOptions;
  readonly duplicates?: number;
}

/** Error kinds after which the server certainly applied nothing (it refuses such requests before applying). */
const NOT_APPLIED: ReadonlySet<EtcdErrorKind> = new Set([
  'invalid',
  'permission',
  'auth',
  'readOnly',
  'tooManyOps',
  'valueTooLarge',
  'noSpace',
  'config',
  'tls',
]);

/** Checks a checkpoint belongs to this run; returns the committed revisions by batch and the unknown batches. */
export function checkCheckpoint(
  checkpoint: BulkCheckpoint | undefined,
  expect: { kind: string; total: number; batchSize: number; fingerprint: string },
): { committed: Map<number, string>; unknown: Set<number> } {
  if (!checkpoint) return { committed: new Map(), unknown: new Set() };
  const mismatch = (what: string) =>
    new EtcdExplorerError(
      'invalid',
      `The checkpoint does not belong to this run (${what} differs): nothing was written. Start over without it.`,
    );
  if (checkpoint.version !== 1) throw mismatch('version');
  if (checkpoint.kind !== expect.kind) throw mismatch(`kind: "${checkpoint.kind}" vs "${expect.kind}"`);
  if (checkpoint.total !== expect.total) throw mismatch(`item count: ${checkpoint.total} vs ${expect.total}`);
  if (checkpoint.batchSize !== expect.batchSize)
    throw mismatch(`batch size: ${checkpoint.batchSize} vs ${expect.batchSize}`);
  if (checkpoint.fingerprint !== undefined && checkpoint.fingerprint !== expect.fingerprint)
    throw mismatch('input data');
  const committed = new Map(checkpoint.committed.map((c) => [c.index, c.revision] as [number, string]));
  return { committed, unknown: new Set(checkpoint.unknown.filter((i) => !committed.has(i))) };
}

/**
 * Sends batches with bounded concurrency, in index order, stopping at the first failure or on cancel (batches
 * already sent are awaited, never abandoned, so the report says exactly what committed). The checkpoint lists a
 * batch as unknown from the moment it is sent until its answer arrives.
 */
export async function runBatches(
  source: Iterable<RunnerBatch> | AsyncIterable<RunnerBatch>,
  setup: RunnerSetup,
): Promise<BulkResult> {
  const { options } = setup;
  const concurrency = checkConcurrency(options.concurrency);
  const prior = checkCheckpoint(options.checkpoint, setup);
  const knownRevision = prior.unknown.size ? resumeFloor(options.checkpoint, setup.knownRevision) : setup.knownRevision;
  const committed = new Map(prior.committed);
  const unknown = new Set(prior.unknown);
  const reports = new Map<number, BatchReport>();
  let done = committed.size;
  let stopError: string | undefined;

  const snapshot = (): BulkCheckpoint => ({
    version: 1,
    kind: setup.kind,
    total: setup.total,
    batchSize: setup.batchSize,
    committed: [...committed].sort((a, b) => a[0] - b[0]).map(([index, revision]) => ({ index, revision })),
    unknown: [...unknown].sort((a, b) => a - b),
    fingerprint: setup.fingerprint,
    knownRevision,
  });
  const emit = () => options.onCheckpoint?.(snapshot());

  const inFlight = new Set<Promise<void>>();
  const launch = (batch: RunnerBatch) => {
    const wasUnknown = unknown.has(batch.index);
    unknown.add(batch.index);
    emit();
    const p = (async () => {
      let report: BatchReport;
      try {
        report = await batch.exec(wasUnknown);
      } catch (err) {
        const error = translateError(err, { operation: `send batch ${batch.index + 1}`, endpoints: [], timeoutMs: 0 });
        const maybeApplied = !NOT_APPLIED.has(error.kind);
        report = {
          index: batch.index,
          firstKey: batch.firstKey,
          lastKey: batch.lastKey,
          ops: batch.ops,
          status: 'failed',
          error: maybeApplied
            ? `${error.message} The batch may or may not have committed: resume to find out.`
            : error.message,
          ...(maybeApplied ? { outcomeUnknown: true } : {}),
        };
      }
      reports.set(batch.index, report);
      if (report.status === 'committed' || report.status === 'skipped') {
        committed.set(batch.index, report.revision ?? '0');
        unknown.delete(batch.index);
        done++;
        options.onBatch?.(report, done, setup.batchCount);
      } else {
        if (!report.outcomeUnknown) unknown.delete(batch.index);
        stopError ??= report.error;
        options.onBatch?.(report, done, setup.batchCount);
      }
      emit();
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const seen = new Set<number>();
  // Only the light part of batches never sent (an import's items must not pile up in memory).
  const pending: Array<Pick<RunnerBatch, 'index' | 'firstKey' | 'lastKey' | 'ops'>> = [];
  const stopping = () => stopError !== undefined || options.signal?.aborted === true;
  try {
    for await (const batch of source) {
      seen.add(batch.index);
      if (committed.has(batch.index)) {
        reports.set(batch.index, {
          index: batch.index,
          firstKey: batch.firstKey,
          lastKey: batch.lastKey,
          ops: batch.ops,
          status: 'committed',
          revision: committed.get(batch.index),
          earlierRun: true,
        });
        continue;
      }
      if (!stopping()) {
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      if (stopping())
        pending.push({ index: batch.index, firstKey: batch.firstKey, lastKey: batch.lastKey, ops: batch.ops });
      else launch(batch);
    }
  } catch (err) {
    // The source itself failed (e.g. a file read error): batches sent so far still count.
    stopError ??= errorText(err);
  }
  await Promise.all(inFlight);
  for (const batch of pending) {
    reports.set(batch.index, {
      index: batch.index,
      firstKey: batch.firstKey,
      lastKey: batch.lastKey,
      ops: batch.ops,
      status: unknown.has(batch.index) ? 'failed' : 'notSent',
      ...(unknown.has(batch.index)
        ? { outcomeUnknown: true, error: 'Left unknown by an earlier run; not checked because this run stopped.' }
        : {}),
    });
  }
  const batches = [...reports.values()].sort((a, b) => a.index - b.index);
  const sum = (f: (b: BatchReport) => number | undefined) => batches.reduce((n, b) => n + (f(b) ?? 0), 0);
  const cancelled = stopError === undefined && options.signal?.aborted === true && committed.size < setup.batchCount;
  const complete = stopError === undefined && !cancelled && committed.size === setup.batchCount;
  const checkpoint = snapshot();
  return {
    batches,
    keys: setup.total,
    written: sum((b) => b.written),
    skipped: sum((b) => b.skipped),
    conflicts: sum((b) => b.conflicts),
    deleted: sum((b) => b.deleted),
    ...(setup.duplicates ? { duplicates: setup.duplicates } : {}),
    complete,
    cancelled,
    ...(stopError !== undefined
      ? { error: stopError }
      : !complete && !cancelled && seen.size < setup.batchCount
        ? { error: 'The input ended early.' }
        : {}),
    checkpoint,
  };
}

export function checkMaxTxnOps(v: number | undefined): number {
  const n = v ?? DEFAULT_MAX_TXN_OPS;
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new EtcdExplorerError('invalid', `max-txn-ops must be a whole number from 1 (got ${v}).`);
  return n;
}

function checkConcurrency(v: number | undefined): number {
  const n = v ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new EtcdExplorerError('invalid', `Concurrency must be a whole number from 1 to 256 (got ${v}).`);
  return n;
}

/** Refusal for atomic mode; 'tooManyOps' is the kind the UI already explains. */
export function atomicRefusal(count: number, maxTxnOps: number, what: string): EtcdExplorerError {
  return new EtcdExplorerError(
    'tooManyOps',
    `Atomic mode: ${count} ${what} do not fit in one transaction (max-txn-ops is ${maxTxnOps}). Nothing was written. Turn off atomic mode to send them in batches, or raise the server's --max-txn-ops and the setting.`,
  );
}

/** A store revision now (a count-only range of one key): every commit from here on is newer. */
export async function currentRevision(conn: EtcdConnection, signal?: AbortSignal): Promise<string> {
  const res = await conn.call(
    'read the store revision',
    (c) => c.kv.range({ key: conn.absoluteKey(Buffer.from([0])), count_only: true }),
    signal,
  );
  return res.header.revision;
}

/**
 * The revision commits of a checkpoint's unknown batches are newer than. A checkpoint that does not say (made by
 * hand) gets "0": any revision where the keys hold our values counts, which at worst skips re-writing values that
 * are already there.
 */
export function resumeFloor(checkpoint: BulkCheckpoint | undefined, start: string): string {
  if (!checkpoint?.unknown.length) return start;
  return checkpoint.knownRevision ?? '0';
}

/** Tracks the newest store revision seen, so every attempt knows a revision older than its own commit. */
export function revisionTracker(
  start: string,
  floor: string,
): { known(): string; saw(revision: string): void; readonly floor: string } {
  let newest = BigInt(start);
  return {
    floor,
    known: () => newest.toString(),
    saw: (revision) => {
      const r = BigInt(revision);
      if (r > newest) newest = r;
    },
  };
}
