import type { Etcd3, ICompare, IKeyValue, IRequestOp, IResponseOp, ITxnResponse } from 'etcd3';
import { EtcdConnection } from '../connection';
import { EtcdExplorerError } from '../errors';
import { displayKey, isValidUtf8, prefixEnd } from '../keyCodec';
import { leaseHex } from '../leases';

/**
 * The Txn model (compares and the two branches of operations), its validation against what the server accepts,
 * and running it or dry-running it. Documents are parsed in txnDocument.ts and written in txnRender.ts.
 */

export type CompareTarget = 'value' | 'version' | 'create_revision' | 'mod_revision' | 'lease';
export type CompareOp = '==' | '!=' | '<' | '>';

/** `value` is bytes for the value target, a decimal string otherwise (lease ids too). Keys are namespace-relative. */
export interface TxnCompare {
  readonly key: Buffer;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  readonly value: Buffer | string;
}

/** One operation of a branch; keys are namespace-relative, a `rangeEnd` of "\0" means "no upper bound". */
export type TxnOp =
  | {
      readonly kind: 'put';
      readonly key: Buffer;
      readonly value: Buffer;
      readonly lease?: string;
      readonly prevKv?: boolean;
    }
  | {
      readonly kind: 'get';
      readonly key: Buffer;
      readonly rangeEnd?: Buffer;
      readonly limit?: number;
      readonly keysOnly?: boolean;
      readonly countOnly?: boolean;
    }
  | { readonly kind: 'delete'; readonly key: Buffer; readonly rangeEnd?: Buffer; readonly prevKv?: boolean };

export interface TxnSpec {
  readonly compare: TxnCompare[];
  readonly success: TxnOp[];
  readonly failure: TxnOp[];
}

/** etcd's default --max-txn-ops; it applies to compares, success and failure separately. */
export const DEFAULT_MAX_TXN_OPS = 128;

const OPEN_END = Buffer.from([0]);

function isOpenEnd(end: Buffer | undefined): boolean {
  return end !== undefined && end.equals(OPEN_END);
}

/** Whether `del` covers `key` the way etcd 3.4's interval check sees it ('open': only an open-ended range does). */
function covers(del: Extract<TxnOp, { kind: 'delete' }>, key: Buffer): false | 'error' | 'open' {
  if (!del.rangeEnd) return del.key.equals(key) ? 'error' : false;
  if (Buffer.compare(key, del.key) < 0) return false;
  if (isOpenEnd(del.rangeEnd)) return 'open';
  return Buffer.compare(key, del.rangeEnd) < 0 ? 'error' : false;
}

/** Whether two ops of one branch write the same key ('error'), or only might through an open-ended delete ('open'). */
export function overlap(a: TxnOp, b: TxnOp): false | 'error' | 'open' {
  if (a.kind === 'put' && b.kind === 'put') return a.key.equals(b.key) ? 'error' : false;
  if (a.kind === 'put' && b.kind === 'delete') return covers(b, a.key);
  if (a.kind === 'delete' && b.kind === 'put') return covers(a, b.key);
  return false;
}

/**
 * Checks a spec the way the server will, so a Txn it would reject is never sent: the op count per list against
 * --max-txn-ops, empty keys, and a key written twice in one branch. Throws an {@link EtcdExplorerError}.
 */
export function validateTxnSpec(spec: TxnSpec, maxTxnOps = DEFAULT_MAX_TXN_OPS): void {
  for (const [name, list] of [
    ['compare', spec.compare],
    ['success', spec.success],
    ['failure', spec.failure],
  ] as const) {
    if (list.length > maxTxnOps) {
      throw new EtcdExplorerError(
        'tooManyOps',
        `The Txn's \`${name}\` list has ${list.length} entries; the server allows at most ${maxTxnOps} (--max-txn-ops). Nothing was sent.`,
      );
    }
  }
  for (const item of [...spec.compare, ...spec.success, ...spec.failure]) {
    const ranged = 'kind' in item && item.kind !== 'put' && item.rangeEnd;
    if (item.key.length === 0 && !ranged) {
      throw new EtcdExplorerError('invalid', 'The Txn has an empty key; etcd has no empty key. Nothing was sent.');
    }
  }
  for (const [name, ops] of [
    ['success', spec.success],
    ['failure', spec.failure],
  ] as const) {
    for (let i = 0; i < ops.length; i++) {
      for (let j = 0; j < i; j++) {
        if (overlap(ops[j], ops[i]) === 'error') {
          const put = ops[i].kind === 'put' ? ops[i] : ops[j];
          throw new EtcdExplorerError(
            'invalid',
            `The Txn's \`${name}\` branch writes "${displayKey(put.key)}" twice; etcd rejects that ("duplicate key given in txn request"). Nothing was sent.`,
          );
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Execution

export interface TxnKv {
  key: string;
  /** Absent for keys-only reads (the server sent no value). */
  value?: string;
  valueEncoding?: 'utf8' | 'base64';
  createRevision: string;
  modRevision: string;
  version: string;
  /** Hex as etcdctl shows it; "0" for none. */
  lease: string;
}

export interface TxnOpResult {
  readonly kind: 'put' | 'get' | 'delete';
  /** Display form, relative to the namespace. */
  readonly key: string;
  /** Revision the write created (puts, and deletes that deleted something). */
  readonly revision?: string;
  readonly deleted?: number;
  readonly count?: number;
  readonly kvs?: TxnKv[];
  readonly prevKvs?: Array<{ key: string; value: string; valueEncoding: 'utf8' | 'base64'; modRevision: string }>;
}

export interface TxnResult {
  readonly succeeded: boolean;
  readonly branch: 'success' | 'failure';
  readonly revision: string;
  readonly responses: TxnOpResult[];
  readonly durationMs: number;
}

export interface DryRunResult {
  readonly wouldSucceed: boolean;
  readonly branch: 'success' | 'failure';
  readonly revision: string;
  readonly compares: Array<{
    key: string;
    target: CompareTarget;
    op: string;
    expected: string;
    /** undefined: the key does not exist. */
    actual: string | undefined;
    holds: boolean;
  }>;
  readonly wouldRun: TxnOp[];
}

const RESULT: Record<CompareOp, ICompare['result']> = { '==': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' };
const TARGET: Record<CompareTarget, ICompare['target']> = {
  value: 'Value',
  version: 'Version',
  create_revision: 'Create',
  mod_revision: 'Mod',
  lease: 'Lease',
};

function isWrite(op: TxnOp): boolean {
  return op.kind !== 'get';
}

/** Absolute key/range_end for a relative range; an open end stays inside the namespace. */
function absRange(
  conn: EtcdConnection,
  key: Buffer,
  rangeEnd: Buffer | undefined,
): { key: Buffer; range_end?: Buffer } {
  const abs = conn.absoluteKey(key);
  if (!rangeEnd) return { key: abs };
  const end = isOpenEnd(rangeEnd)
    ? conn.namespace.length
      ? prefixEnd(conn.namespace)
      : OPEN_END
    : conn.absoluteKey(rangeEnd);
  return { key: abs.length ? abs : OPEN_END, range_end: end };
}

function toCompare(conn: EtcdConnection, c: TxnCompare): ICompare {
  const base: ICompare = { key: conn.absoluteKey(c.key), target: TARGET[c.target], result: RESULT[c.op] };
  switch (c.target) {
    case 'value':
      return { ...base, value: c.value as Buffer };
    case 'version':
      return { ...base, version: c.value as string };
    case 'create_revision':
      return { ...base, create_revision: c.value as string };
    case 'mod_revision':
      return { ...base, mod_revision: c.value as string };
    case 'lease':
      return { ...base, lease: c.value as string };
  }
}

function toRequest(conn: EtcdConnection, op: TxnOp): IRequestOp {
  switch (op.kind) {
    case 'put':
      return {
        request_put: {
          key: conn.absoluteKey(op.key),
          value: op.value,
          lease: op.lease ?? '0',
          prev_kv: op.prevKv === true,
        },
      };
    case 'get':
      // Never a sort order (etcd ≤ 3.6 ignores the limit of a sorted range).
      return {
        request_range: {
          ...absRange(conn, op.key, op.rangeEnd),
          limit: op.limit ?? 0,
          keys_only: op.keysOnly === true,
          count_only: op.countOnly === true,
        },
      };
    case 'delete':
      return { request_delete_range: { ...absRange(conn, op.key, op.rangeEnd), prev_kv: op.prevKv === true } };
  }
}

function encodeValue(value: Buffer): { value: string; valueEncoding: 'utf8' | 'base64' } {
  return isValidUtf8(value)
    ? { value: value.toString('utf8'), valueEncoding: 'utf8' }
    : { value: value.toString('base64'), valueEncoding: 'base64' };
}

function toKv(conn: EtcdConnection, kv: IKeyValue, keysOnly: boolean): TxnKv {
  return {
    key: displayKey(conn.relativeKey(kv.key)),
    ...(keysOnly ? {} : encodeValue(kv.value)),
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    version: kv.version,
    lease: leaseHex(kv.lease || '0'),
  };
}

function toPrevKv(conn: EtcdConnection, kv: IKeyValue) {
  return { key: displayKey(conn.relativeKey(kv.key)), ...encodeValue(kv.value), modRevision: kv.mod_revision };
}

function toOpResult(conn: EtcdConnection, op: TxnOp, res: IResponseOp, revision: string): TxnOpResult {
  const key = displayKey(op.key);
  switch (op.kind) {
    case 'put': {
      const prev = res.response_put?.prev_kv;
      return { kind: 'put', key, revision, ...(op.prevKv ? { prevKvs: prev ? [toPrevKv(conn, prev)] : [] } : {}) };
    }
    case 'get': {
      const r = res.response_range;
      return {
        kind: 'get',
        key,
        count: Number(r?.count ?? 0),
        kvs: (r?.kvs ?? []).map((kv) => toKv(conn, kv, op.keysOnly === true)),
      };
    }
    case 'delete': {
      const r = res.response_delete_range;
      const deleted = Number(r?.deleted ?? 0);
      return {
        kind: 'delete',
        key,
        deleted,
        ...(deleted > 0 ? { revision } : {}),
        ...(op.prevKv ? { prevKvs: (r?.prev_kvs ?? []).map((kv) => toPrevKv(conn, kv)) } : {}),
      };
    }
  }
}

/** Gives the server's Txn-specific refusals (which errors.ts leaves generic) a message that says what to fix. */
function refine(err: unknown, spec: TxnSpec): unknown {
  if (!(err instanceof EtcdExplorerError)) return err;
  const detail = err.detail ?? '';
  if (/duplicate key given in txn request/i.test(detail)) {
    return new EtcdExplorerError(
      'invalid',
      'Could not run the Txn: one branch writes the same key twice (or puts a key its delete range covers); etcd rejects that ("duplicate key given in txn request"). Nothing was written.',
      detail,
      err,
    );
  }
  if (/requested lease not found/i.test(detail)) {
    const leases = [
      ...new Set(
        [...spec.success, ...spec.failure].flatMap((op) =>
          op.kind === 'put' && op.lease && op.lease !== '0' ? [leaseHex(op.lease)] : [],
        ),
      ),
    ];
    return new EtcdExplorerError(
      'invalid',
      `Could not run the Txn: lease ${leases.join(', ') || '(unknown)'} does not exist (expired or revoked). Nothing was written.`,
      detail,
      err,
    );
  }
  return err;
}

/**
 * Sends the Txn. Writes need a writable profile (a Txn of gets only may run on a read-only one). A spec the
 * server would refuse (too many ops, duplicate keys) is refused here, before anything is sent.
 */
export async function runTxn(
  conn: EtcdConnection,
  spec: TxnSpec,
  options: { signal?: AbortSignal; maxTxnOps?: number } = {},
): Promise<TxnResult> {
  validateTxnSpec(spec, options.maxTxnOps);
  const writes = [...spec.success, ...spec.failure].some(isWrite);
  const request = {
    compare: spec.compare.map((c) => toCompare(conn, c)),
    success: spec.success.map((op) => toRequest(conn, op)),
    failure: spec.failure.map((op) => toRequest(conn, op)),
  };
  const started = performance.now();
  let res: ITxnResponse;
  try {
    const send = (c: Etcd3) => c.kv.txn(request);
    res = writes
      ? await conn.write('run the Txn', send, options.signal)
      : await conn.call('run the Txn', send, options.signal);
  } catch (err) {
    throw refine(err, spec);
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const branch = res.succeeded ? 'success' : 'failure';
  const ops = spec[branch];
  return {
    succeeded: res.succeeded,
    branch,
    revision: res.header.revision,
    responses: ops.map((op, i) => toOpResult(conn, op, res.responses[i], res.header.revision)),
    durationMs,
  };
}

/**
 * Evaluates the compares at one revision without writing: a Txn with the same compares whose both branches only
 * read the compared keys. The server decides the branch exactly; the reads (same revision) give the actual
 * values for the report. Allowed on read-only profiles.
 */
export async function dryRunTxn(
  conn: EtcdConnection,
  spec: TxnSpec,
  options: { signal?: AbortSignal; maxTxnOps?: number } = {},
): Promise<DryRunResult> {
  validateTxnSpec({ compare: spec.compare, success: [], failure: [] }, options.maxTxnOps);
  const keys = new Map<string, { key: Buffer; value: boolean }>();
  for (const c of spec.compare) {
    const id = c.key.toString('base64');
    const seen = keys.get(id);
    keys.set(id, { key: c.key, value: (seen?.value ?? false) || c.target === 'value' });
  }
  // Values are read only where a value is compared: the others need just the metadata.
  const reads: IRequestOp[] = [...keys.values()].map((k) => ({
    request_range: { key: conn.absoluteKey(k.key), keys_only: !k.value },
  }));
  const res = await conn.call(
    'dry-run the Txn',
    (c) => c.kv.txn({ compare: spec.compare.map((cmp) => toCompare(conn, cmp)), success: reads, failure: reads }),
    options.signal,
  );
  const found = new Map<string, IKeyValue | undefined>();
  [...keys.keys()].forEach((id, i) => found.set(id, res.responses[i]?.response_range?.kvs[0]));
  const branch = res.succeeded ? 'success' : 'failure';
  return {
    wouldSucceed: res.succeeded,
    branch,
    revision: res.header.revision,
    compares: spec.compare.map((c) => evaluateCompare(c, found.get(c.key.toString('base64')))),
    wouldRun: spec[branch],
  };
}

/** Mirrors etcd's applyCompare: a missing key compares as zeros, except that a value compare on it never holds. */
function evaluateCompare(c: TxnCompare, kv: IKeyValue | undefined): DryRunResult['compares'][number] {
  const base = { key: displayKey(c.key), target: c.target, op: c.op };
  if (c.target === 'value') {
    const expected = showBytes(c.value as Buffer);
    if (!kv) return { ...base, expected, actual: undefined, holds: false };
    return {
      ...base,
      expected,
      actual: showBytes(kv.value),
      holds: holds(c.op, Buffer.compare(kv.value, c.value as Buffer)),
    };
  }
  const field = {
    version: 'version',
    create_revision: 'create_revision',
    mod_revision: 'mod_revision',
    lease: 'lease',
  } as const;
  const actual = kv ? BigInt(kv[field[c.target]] || '0') : 0n;
  const expected = BigInt(c.value as string);
  const show = (n: bigint) => (c.target === 'lease' ? leaseHex(n.toString()) : n.toString());
  return {
    ...base,
    expected: show(expected),
    actual: kv ? show(actual) : undefined,
    holds: holds(c.op, actual < expected ? -1 : actual > expected ? 1 : 0),
  };
}

function holds(op: CompareOp, cmp: number): boolean {
  return op === '==' ? cmp === 0 : op === '!=' ? cmp !== 0 : op === '<' ? cmp < 0 : cmp > 0;
}

const SHOW_LIMIT = 200;

/** Values in reports: text when UTF-8, escaped bytes otherwise; long ones cut. */
function showBytes(value: Buffer): string {
  const text = isValidUtf8(value) ? value.toString('utf8') : displayKey(value);
  return text.length > SHOW_LIMIT ? `${text.slice(0, SHOW_LIMIT)}… (${value.length} bytes)` : text;
}
