import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { IRangeResponse, ITxnResponse } from 'etcd3';
import { EtcdConnection } from './connection';
import { EtcdErrorKind, EtcdExplorerError, translateError } from './errors';
import { displayKey, prefixEnd } from './keyCodec';
import { parseLeaseId } from './leases';

/** One key to write. `lease` is the decimal lease id the API uses ("0" or absent: no lease). */
export interface BulkItem {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly lease?: string;
  /** The key's mod_revision where it came from (export records); mode 'ifUnchanged' writes only over that revision. */
  readonly modRevision?: string;
}

export type BulkFormat = 'json' | 'yaml' | 'ndjson';

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
  /** Txns in flight at once (default 4). */
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

export interface DeleteTarget {
  readonly key: Buffer;
  readonly prefix?: boolean;
}

export const DEFAULT_MAX_TXN_OPS = 128;
export const DEFAULT_CONCURRENCY = 4;
/** Re-plans of one batch when keys keep changing under it, before giving up on it. */
const MAX_ATTEMPTS = 8;

// ---------------------------------------------------------------------------------------------------------------
// Input parsing

const ENTRY_FIELDS = new Set([
  'key', 'keyBase64', 'keyEncoding', 'value', 'valueBase64', 'valueEncoding', 'lease',
  'createRevision', 'modRevision', 'version',
]);

/**
 * Parses bulk-put input. JSON/YAML: an object `{"key": "value" | {value|valueBase64, lease?}}` or an array of
 * `{key|keyBase64, value|valueBase64, lease?}`; NDJSON: one array element per line (export records too, their
 * header line is skipped). Lease ids are hex, as etcdctl prints them. Errors name the line (YAML, NDJSON) or the
 * entry (JSON) and nothing is returned for bad input.
 */
export function parseBulkInput(text: string, format: BulkFormat): BulkItem[] {
  switch (format) {
    case 'json':
      return parseJson(text);
    case 'yaml':
      return parseYaml(text);
    case 'ndjson':
      return parseNdjson(text);
    default:
      throw invalid(`Unknown bulk input format "${String(format)}" (json, yaml or ndjson).`);
  }
}

function parseJson(text: string): BulkItem[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const where = pos ? ` at ${lineCol(text, Number(pos[1]))}` : '';
    throw invalid(`The JSON input is not valid${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}.`);
  }
  if (Array.isArray(data)) return data.map((entry, i) => entryItem(entry, `entry ${i + 1}`));
  if (isPlainObject(data)) return Object.entries(data).map(([key, v]) => objectItem(key, v, `entry "${key}"`));
  throw invalid('The JSON input must be an object {"key": "value"} or an array of {key, value} entries.');
}

function parseYaml(text: string): BulkItem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    throw invalid(`The YAML input is not valid${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}.`);
  }
  const where = (range: readonly number[] | null | undefined, fallback: string) =>
    range ? `line ${lines.linePos(range[0]).line}` : fallback;
  const root = doc.contents;
  if (root === null || root === undefined) return [];
  if (isSeq(root)) {
    return root.items.map((node, i) => {
      const range = (node as { range?: number[] }).range;
      return entryItem((node as { toJSON?: () => unknown }).toJSON?.() ?? node, `${where(range, `entry ${i + 1}`)} (entry ${i + 1})`);
    });
  }
  if (isMap(root)) {
    return root.items.map((pair, i) => {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      const range = (keyNode as { range?: number[] } | null)?.range;
      const label = `${where(range, `entry ${i + 1}`)} (key "${String(key)}")`;
      if (typeof key !== 'string' && typeof key !== 'number') throw invalid(`${label}: keys must be text.`);
      const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? (isScalar(pair.value) ? pair.value.value : pair.value);
      return objectItem(String(key), value, label);
    });
  }
  throw invalid('The YAML input must be a mapping (key: value) or a sequence of {key, value} entries.');
}

function parseNdjson(text: string): BulkItem[] {
  const items: BulkItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const item = parseNdjsonLine(line, i + 1);
    if (item) items.push(item);
  }
  return items;
}

/** One NDJSON line → an item, or undefined for an export's header line. */
export function parseNdjsonLine(line: string, lineNo: number): BulkItem | undefined {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch (err) {
    throw invalid(`line ${lineNo}: not valid JSON (${(err as Error).message.replace(/ in JSON at position \d+.*$/, '')}).`);
  }
  if (isPlainObject(data) && 'etcdExport' in data) return undefined;
  return entryItem(data, `line ${lineNo}`);
}

function entryItem(entry: unknown, where: string): BulkItem {
  if (!isPlainObject(entry)) throw invalid(`${where}: expected an object {key, value}.`);
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) throw invalid(`${where}: unknown field "${field}".`);
  }
  if (entry.key !== undefined && entry.keyBase64 !== undefined) throw invalid(`${where}: give "key" or "keyBase64", not both.`);
  let key: Buffer;
  if (entry.keyBase64 !== undefined) key = base64Field(entry.keyBase64, 'keyBase64', where);
  else if (typeof entry.key === 'string') key = encodedField(entry.key, entry.keyEncoding, 'key', where);
  else throw invalid(`${where}: "key" (text) or "keyBase64" is required.`);
  if (key.length === 0) throw invalid(`${where}: the key is empty.`);
  const value = entryValue(entry, where);
  const modRevision = entry.modRevision;
  if (modRevision !== undefined && !(typeof modRevision === 'string' && /^\d+$/.test(modRevision)) && !Number.isSafeInteger(modRevision)) {
    throw invalid(`${where}: "modRevision" must be a revision number.`);
  }
  return {
    key,
    value,
    ...leaseField(entry.lease, where),
    ...(modRevision !== undefined ? { modRevision: String(modRevision) } : {}),
  };
}

function objectItem(key: string, v: unknown, where: string): BulkItem {
  if (!key) throw invalid(`${where}: the key is empty.`);
  if (isPlainObject(v)) {
    for (const field of Object.keys(v)) {
      if (!['value', 'valueBase64', 'valueEncoding', 'lease'].includes(field)) throw invalid(`${where}: unknown field "${field}".`);
    }
    return { key: Buffer.from(key, 'utf8'), value: entryValue(v, where), ...leaseField(v.lease, where) };
  }
  return { key: Buffer.from(key, 'utf8'), value: scalarValue(v, where) };
}

function entryValue(entry: Record<string, unknown>, where: string): Buffer {
  if (entry.value !== undefined && entry.valueBase64 !== undefined) throw invalid(`${where}: give "value" or "valueBase64", not both.`);
  if (entry.valueBase64 !== undefined) return base64Field(entry.valueBase64, 'valueBase64', where);
  if (entry.value === undefined) throw invalid(`${where}: "value" or "valueBase64" is required.`);
  if (typeof entry.value === 'string') return encodedField(entry.value, entry.valueEncoding, 'value', where);
  return scalarValue(entry.value, where);
}

/** Numbers and booleans are stored as their text (what a YAML author writing `port: 8080` means). */
function scalarValue(v: unknown, where: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'number' || typeof v === 'boolean') return Buffer.from(String(v), 'utf8');
  throw invalid(`${where}: the value must be text, or an object {value | valueBase64, lease?}.`);
}

function encodedField(text: string, encoding: unknown, field: string, where: string): Buffer {
  if (encoding === undefined || encoding === 'utf8') return Buffer.from(text, 'utf8');
  if (encoding === 'base64') return base64Field(text, field, where);
  throw invalid(`${where}: "${field}Encoding" must be "utf8" or "base64".`);
}

function base64Field(v: unknown, field: string, where: string): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw invalid(`${where}: "${field}" is not valid base64.`);
  }
  return Buffer.from(v, 'base64');
}

function leaseField(v: unknown, where: string): { lease?: string } {
  if (v === undefined || v === null || v === '' || v === '0' || v === 0) return {};
  if (typeof v !== 'string') throw invalid(`${where}: "lease" must be a lease id in hex, as etcdctl shows it.`);
  try {
    return { lease: parseLeaseId(v) };
  } catch {
    throw invalid(`${where}: "${v}" is not a lease id (hex, as etcdctl shows it).`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

function invalid(message: string): EtcdExplorerError {
  return new EtcdExplorerError('invalid', message);
}

// ---------------------------------------------------------------------------------------------------------------
// Batching

/**
 * Drops repeated keys: etcd refuses a Txn that puts one key twice ("duplicate key given in txn request"), and a
 * key split over two concurrent batches would land in either order. The last occurrence's value wins, at the
 * position of the first.
 */
export function dedupeItems(items: readonly BulkItem[]): { items: BulkItem[]; duplicates: number } {
  const byKey = new Map<string, number>();
  const out: BulkItem[] = [];
  for (const item of items) {
    const id = item.key.toString('latin1');
    const at = byKey.get(id);
    if (at === undefined) {
      byKey.set(id, out.length);
      out.push(item);
    } else {
      out[at] = item;
    }
  }
  return { items: out, duplicates: items.length - out.length };
}

/** Consecutive slices of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Delete targets without overlaps: repeats dropped, and keys or prefixes inside another prefix target dropped
 * (so preview counts add up and no key is counted twice). Sorted by key.
 */
export function normalizeDeleteTargets(targets: readonly DeleteTarget[]): DeleteTarget[] {
  const sorted = [...targets].sort((a, b) => Buffer.compare(a.key, b.key) || Number(!!b.prefix) - Number(!!a.prefix));
  const out: DeleteTarget[] = [];
  let cover: Buffer | undefined;
  for (const t of sorted) {
    if (cover && t.key.subarray(0, cover.length).equals(cover)) continue;
    const last = out[out.length - 1];
    if (last && !last.prefix && !t.prefix && last.key.equals(t.key)) continue;
    if (!t.prefix && t.key.length === 0) throw invalid('A delete target key is empty (use a prefix target to delete everything).');
    out.push({ key: t.key, prefix: !!t.prefix });
    if (t.prefix) cover = t.key;
  }
  return out;
}

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

/** SHA-256 over the items in order (lengths framed), to tie a checkpoint to its input. */
export function fingerprintItems(items: readonly BulkItem[], extra = ''): string {
  const h = createHash('sha256');
  h.update(extra);
  const len = Buffer.alloc(4);
  for (const item of items) {
    for (const part of [item.key, item.value, Buffer.from(item.lease ?? '0'), Buffer.from(item.modRevision ?? '')]) {
      len.writeUInt32BE(part.length);
      h.update(len);
      h.update(part);
    }
  }
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// The batch runner

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
  'invalid', 'permission', 'auth', 'readOnly', 'tooManyOps', 'valueTooLarge', 'noSpace', 'config', 'tls',
]);

/** Checks a checkpoint belongs to this run; returns the committed revisions by batch and the unknown batches. */
export function checkCheckpoint(
  checkpoint: BulkCheckpoint | undefined,
  expect: { kind: string; total: number; batchSize: number; fingerprint: string },
): { committed: Map<number, string>; unknown: Set<number> } {
  if (!checkpoint) return { committed: new Map(), unknown: new Set() };
  const mismatch = (what: string) =>
    invalid(`The checkpoint does not belong to this run (${what} differs): nothing was written. Start over without it.`);
  if (checkpoint.version !== 1) throw mismatch('version');
  if (checkpoint.kind !== expect.kind) throw mismatch(`kind: "${checkpoint.kind}" vs "${expect.kind}"`);
  if (checkpoint.total !== expect.total) throw mismatch(`item count: ${checkpoint.total} vs ${expect.total}`);
  if (checkpoint.batchSize !== expect.batchSize) throw mismatch(`batch size: ${checkpoint.batchSize} vs ${expect.batchSize}`);
  if (checkpoint.fingerprint !== undefined && checkpoint.fingerprint !== expect.fingerprint) throw mismatch('input data');
  const committed = new Map(checkpoint.committed.map((c) => [c.index, c.revision] as [number, string]));
  return { committed, unknown: new Set(checkpoint.unknown.filter((i) => !committed.has(i))) };
}

/**
 * Sends batches with bounded concurrency, in index order, stopping at the first failure or on cancel (batches
 * already sent are awaited, never abandoned, so the report says exactly what committed). The checkpoint lists a
 * batch as unknown from the moment it is sent until its answer arrives.
 */
export async function runBatches(source: Iterable<RunnerBatch> | AsyncIterable<RunnerBatch>, setup: RunnerSetup): Promise<BulkResult> {
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
          index: batch.index, firstKey: batch.firstKey, lastKey: batch.lastKey, ops: batch.ops, status: 'failed',
          error: maybeApplied ? `${error.message} The batch may or may not have committed: resume to find out.` : error.message,
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
          index: batch.index, firstKey: batch.firstKey, lastKey: batch.lastKey, ops: batch.ops, status: 'committed',
          revision: committed.get(batch.index), earlierRun: true,
        });
        continue;
      }
      if (!stopping()) {
        while (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      if (stopping()) pending.push({ index: batch.index, firstKey: batch.firstKey, lastKey: batch.lastKey, ops: batch.ops });
      else launch(batch);
    }
  } catch (err) {
    // The source itself failed (e.g. a file read error): batches sent so far still count.
    stopError ??= err instanceof Error ? err.message : String(err);
  }
  await Promise.all(inFlight);
  for (const batch of pending) {
    reports.set(batch.index, {
      index: batch.index, firstKey: batch.firstKey, lastKey: batch.lastKey, ops: batch.ops,
      status: unknown.has(batch.index) ? 'failed' : 'notSent',
      ...(unknown.has(batch.index) ? { outcomeUnknown: true, error: 'Left unknown by an earlier run; not checked because this run stopped.' } : {}),
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
    ...(stopError !== undefined ? { error: stopError } : !complete && !cancelled && seen.size < setup.batchCount ? { error: 'The input ended early.' } : {}),
    checkpoint,
  };
}

export function checkMaxTxnOps(v: number | undefined): number {
  const n = v ?? DEFAULT_MAX_TXN_OPS;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw invalid(`max-txn-ops must be a whole number from 1 (got ${v}).`);
  return n;
}

function checkConcurrency(v: number | undefined): number {
  const n = v ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(n) || n < 1 || n > 256) throw invalid(`Concurrency must be a whole number from 1 to 256 (got ${v}).`);
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
  const res = await conn.call('read the store revision', (c) => c.kv.range({ key: conn.absoluteKey(Buffer.from([0])), count_only: true }), signal);
  return res.header.revision;
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk put

/**
 * One batch of puts as a guarded Txn. Every key of the batch is compared with the mod_revision last seen for it
 * (first assumed absent), so a Txn whose answer was lost and is sent again — by etcd3's own retry or by a resume —
 * cannot apply twice: the first commit changed those revisions. When the compare fails, the failure branch
 * returns the keys' revisions; if the keys carry our values at one revision newer than any read before sending,
 * that was our commit (confirmed against history), otherwise the batch is re-planned and sent again.
 */
export function putBatch(
  conn: EtcdConnection,
  index: number,
  items: readonly BulkItem[],
  mode: ExistingKeyMode,
  revisions: { known(): string; saw(revision: string): void; readonly floor: string },
  operation = 'write',
): RunnerBatch {
  const abs = items.map((i) => conn.absoluteKey(i.key));
  const base = { index, firstKey: displayKey(items[0].key), lastKey: displayKey(items[items.length - 1].key), ops: items.length };
  const report = (status: 'committed' | 'skipped', revision: string, plan: KeyPlan[]): BatchReport => ({
    ...base, status, revision,
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
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const known = revisions.known();
        const plan = planBatch(mode, items, observed);
        const writes = plan.flatMap((p, i) => (p === 'write' ? [i] : []));
        if (writes.length === 0) return report('skipped', known, plan);
        const res: ITxnResponse = await conn.write(`${operation} batch ${index + 1} (${base.firstKey} … ${base.lastKey})`, (c) =>
          c.kv.txn({
            compare: abs.map((key, i) => ({ key, target: 'Mod', result: 'Equal', mod_revision: observed[i] })),
            success: writes.map((i) => ({ request_put: { key: abs[i], value: items[i].value, lease: items[i].lease ?? '0' } })),
            failure: abs.map((key) => ({ request_range: { key, keys_only: true } })),
          }),
        );
        revisions.saw(res.header.revision);
        if (res.succeeded) return report('committed', res.header.revision, plan);
        const now = res.responses.map((r) => r.response_range?.kvs[0]?.mod_revision ?? '0');
        if (writes.some((i) => BigInt(now[i]) > BigInt(known))) {
          const earlier = await findOwnCommit(conn, abs, items, mode, known);
          if (earlier) return report('committed', earlier.revision, earlier.plan);
        }
        observed = now;
      }
      throw new EtcdExplorerError('unknown', `Batch ${index + 1}: its keys kept changing under ${MAX_ATTEMPTS} attempts; nothing of it was written.`);
    },
  };
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
        success: abs.map((key) => ({ request_range: { key, ...(revision ? { revision } : {}), ...(keysOnly ? { keys_only: true } : {}) } })),
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
  const plan = planBatch(mode, items, before.map((r) => r?.kvs[0]?.mod_revision ?? '0'));
  const matches = plan.every((p, i) => (p === 'write') === changed[i]) && changed.some(Boolean);
  return matches ? { revision: candidate, plan } : undefined;
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
export function revisionTracker(start: string, floor: string): { known(): string; saw(revision: string): void; readonly floor: string } {
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

/**
 * Writes many keys in Txns of at most max-txn-ops puts, `concurrency` at a time. Existing keys follow
 * `options.mode` (default overwrite). Repeated keys are dropped first (the last value wins). Each batch is guarded
 * so that it applies at most once, even when re-sent after a lost answer or resumed from the checkpoint.
 */
export async function bulkPut(conn: EtcdConnection, items: readonly BulkItem[], options: BulkOptions = {}): Promise<BulkResult> {
  conn.assertWritable(`write ${items.length} keys`);
  const maxTxnOps = checkMaxTxnOps(options.maxTxnOps);
  const mode = options.mode ?? 'overwrite';
  const { items: unique, duplicates } = dedupeItems(items);
  for (const item of unique) {
    if (item.key.length === 0) throw invalid('A key is empty. Nothing was written.');
  }
  if (options.atomic && unique.length > maxTxnOps) throw atomicRefusal(unique.length, maxTxnOps, 'keys');
  const batchSize = options.atomic ? Math.max(unique.length, 1) : maxTxnOps;
  const kind = `put:${mode}`;
  const fingerprint = fingerprintItems(unique, kind);
  checkCheckpoint(options.checkpoint, { kind, total: unique.length, batchSize, fingerprint });
  const start = await currentRevision(conn, options.signal);
  const floor = resumeFloor(options.checkpoint, start);
  const revisions = revisionTracker(start, floor);
  const batches = chunk(unique, batchSize).map((b, i) => putBatch(conn, i, b, mode, revisions));
  return runBatches(batches, {
    kind, total: unique.length, batchSize, batchCount: batches.length, fingerprint, knownRevision: start, options, duplicates,
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
 * Counts what {@link bulkDelete} would remove, at one pinned revision, with a sample of keys (for the
 * confirmation). Overlapping targets are counted once.
 */
export async function previewBulkDelete(
  conn: EtcdConnection,
  targets: readonly DeleteTarget[],
  signal?: AbortSignal,
): Promise<{ keys: number; revision: string; sample: string[] }> {
  const normalized = normalizeDeleteTargets(targets);
  const SAMPLE = 20;
  let revision: string | undefined;
  let keys = 0;
  const sample: string[] = [];
  for (const group of chunk(normalized, DEFAULT_MAX_TXN_OPS)) {
    const res = await conn.call(
      `count keys to delete`,
      (c) =>
        c.kv.txn({
          compare: [],
          success: group.map((t) => ({
            request_range: { ...targetRange(conn, t), keys_only: true, limit: Math.max(1, SAMPLE - sample.length), ...(revision ? { revision } : {}) },
          })),
          failure: [],
        }),
      signal,
    );
    revision ??= res.header.revision;
    for (const r of res.responses) {
      keys += Number(r.response_range.count);
      for (const kv of r.response_range.kvs) if (sample.length < SAMPLE) sample.push(displayKey(conn.relativeKey(kv.key)));
    }
  }
  return { keys, revision: revision ?? (await currentRevision(conn, signal)), sample };
}

/**
 * Deletes keys and prefixes in Txns of at most max-txn-ops delete-ranges. A delete applies at most once in
 * effect: re-sending one whose answer was lost removes only keys created under it since, which it was asked to
 * remove anyway (its count then says what the re-send removed).
 */
export async function bulkDelete(conn: EtcdConnection, targets: readonly DeleteTarget[], options: BulkOptions = {}): Promise<BulkResult> {
  conn.assertWritable(`delete ${targets.length} keys or prefixes`);
  const maxTxnOps = checkMaxTxnOps(options.maxTxnOps);
  const normalized = normalizeDeleteTargets(targets);
  if (options.atomic && normalized.length > maxTxnOps) throw atomicRefusal(normalized.length, maxTxnOps, 'keys and prefixes');
  const batchSize = options.atomic ? Math.max(normalized.length, 1) : maxTxnOps;
  const fingerprint = fingerprintItems(normalized.map((t) => ({ key: t.key, value: Buffer.from(t.prefix ? 'prefix' : 'key') })), 'delete');
  checkCheckpoint(options.checkpoint, { kind: 'delete', total: normalized.length, batchSize, fingerprint });
  const start = await currentRevision(conn, options.signal);
  const batches = chunk(normalized, batchSize).map((group, index): RunnerBatch => {
    const base = { index, firstKey: targetLabel(group[0]), lastKey: targetLabel(group[group.length - 1]), ops: group.length };
    return {
      ...base,
      async exec() {
        const res = await conn.write(`delete batch ${index + 1} (${base.firstKey} … ${base.lastKey})`, (c) =>
          c.kv.txn({ compare: [], success: group.map((t) => ({ request_delete_range: targetRange(conn, t) })), failure: [] }),
        );
        const deleted = res.responses.reduce((n, r) => n + Number(r.response_delete_range?.deleted ?? 0), 0);
        return { ...base, status: 'committed', revision: res.header.revision, deleted };
      },
    };
  });
  return runBatches(batches, {
    kind: 'delete', total: normalized.length, batchSize, batchCount: batches.length, fingerprint, knownRevision: start, options,
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
  lines.push(`- Items: ${result.keys}${result.duplicates ? ` (${result.duplicates} repeated keys dropped; the last value won)` : ''}`);
  lines.push(`- Batches: ${result.batches.length} — ${committed.length} committed${earlier ? ` (${earlier} in an earlier run)` : ''}, ${by('skipped').length} with nothing to write, ${failed.length} failed, ${notSent.length} not sent`);
  if (result.deleted) lines.push(`- Keys deleted: ${result.deleted}`);
  for (const note of result.notes ?? []) lines.push(`- ${escapeMd(note)}`);
  if (result.written || result.skipped || result.conflicts || !result.deleted) {
    lines.push(`- Keys written: ${result.written}, skipped (existed): ${result.skipped}, conflicts (changed since export): ${result.conflicts}${earlier ? ' — counts cover this run only' : ''}`);
  }
  if (!result.complete) {
    lines.push('', '## Not committed', '');
    if (unknown.length) {
      lines.push(`- Outcome unknown (sent, no answer): batches ${unknown.map((b) => b.index + 1).join(', ')}. Resume from the checkpoint: it reads these keys back and re-sends only what did not commit.`);
    }
    const plainFailed = failed.filter((b) => !b.outcomeUnknown);
    if (plainFailed.length) lines.push(`- Failed (nothing of them was written): batches ${plainFailed.map((b) => b.index + 1).join(', ')}.`);
    if (notSent.length) lines.push(`- Not sent: ${notSent.length} batches (${notSent.reduce((n, b) => n + b.ops, 0)} items), from batch ${notSent[0].index + 1}.`);
  }
  lines.push('', '| # | Keys | First | Last | Status | Revision | Detail |', '|---:|---:|---|---|---|---:|---|');
  for (const b of result.batches) {
    const status = b.status === 'committed' && b.earlierRun ? 'committed (earlier run)' : b.outcomeUnknown ? 'unknown' : b.status;
    const detail = b.error
      ? b.error
      : b.deleted !== undefined
        ? `${b.deleted} deleted`
        : b.written !== undefined
          ? `${b.written} written${b.skipped ? `, ${b.skipped} skipped` : ''}${b.conflicts ? `, ${b.conflicts} conflicts` : ''}`
          : '';
    lines.push(`| ${b.index + 1} | ${b.ops} | ${escapeMd(b.firstKey)} | ${escapeMd(b.lastKey)} | ${status} | ${b.revision ?? ''} | ${escapeMd(detail)} |`);
  }
  return lines.join('\n') + '\n';
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_|<>[\]]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
}
