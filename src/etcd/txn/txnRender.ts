import { Document, isMap, isScalar, stringify, visit } from 'yaml';
import { displayKey, isValidUtf8, prefixEnd } from '../keyCodec';
import { leaseHex } from '../leases';
import { DryRunResult, TxnCompare, TxnOp, TxnResult, TxnSpec } from './txn';

/** Readable result document (YAML with a header comment). */
export function renderTxnResult(result: TxnResult | DryRunResult, connectionName: string, now = new Date()): string {
  const dry = 'wouldSucceed' in result;
  const header = [
    `# ${dry ? 'Dry run of a Txn (nothing was written)' : 'Txn result'} on "${connectionName}" at ${now.toISOString()}`,
    dry
      ? `# The compares ${result.wouldSucceed ? 'all hold' : 'do not all hold'}: the \`${result.branch}\` branch would run.`
      : `# The compares ${result.succeeded ? 'held' : 'did not hold'}: the \`${result.branch}\` branch ran.`,
  ];
  const body = dry
    ? {
        connection: connectionName,
        time: now.toISOString(),
        dryRun: true,
        wouldSucceed: result.wouldSucceed,
        branch: result.branch,
        revision: result.revision,
        compares: result.compares.map((c) => ({ ...c, actual: c.actual ?? '(key absent)' })),
        wouldRun: result.wouldRun.map(opToDocument),
      }
    : {
        connection: connectionName,
        time: now.toISOString(),
        succeeded: result.succeeded,
        branch: result.branch,
        revision: result.revision,
        durationMs: result.durationMs,
        responses: result.responses.map(({ kind, ...rest }) => ({ [kind]: rest })),
      };
  return `${header.join('\n')}\n${stringify(body, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** Document form of a key: display text (lossless, escapes for non-UTF-8 bytes). */
function keyField(name: string, key: Buffer): Record<string, string> {
  return { [name]: displayKey(key) };
}

function valueField(name: string, value: Buffer): Record<string, string> {
  return isValidUtf8(value) ? { [name]: value.toString('utf8') } : { [`${name}Base64`]: value.toString('base64') };
}

function opToDocument(op: TxnOp): Record<string, Record<string, unknown>> {
  const range = (o: { key: Buffer; rangeEnd?: Buffer }) =>
    !o.rangeEnd ? {} : o.rangeEnd.equals(prefixEnd(o.key)) ? { prefix: true } : keyField('rangeEnd', o.rangeEnd);
  switch (op.kind) {
    case 'put':
      return {
        put: {
          ...keyField('key', op.key),
          ...valueField('value', op.value),
          ...(op.lease !== undefined ? { lease: leaseHex(op.lease) } : {}),
          ...(op.prevKv ? { prevKv: true } : {}),
        },
      };
    case 'get':
      return {
        get: {
          ...keyField('key', op.key),
          ...range(op),
          ...(op.limit ? { limit: op.limit } : {}),
          ...(op.keysOnly ? { keysOnly: true } : {}),
          ...(op.countOnly ? { countOnly: true } : {}),
        },
      };
    case 'delete':
      return { delete: { ...keyField('key', op.key), ...range(op), ...(op.prevKv ? { prevKv: true } : {}) } };
  }
}

function compareToDocument(c: TxnCompare): Record<string, unknown> {
  const value =
    c.target === 'value'
      ? valueField('value', c.value as Buffer)
      : { value: c.target === 'lease' ? leaseHex(c.value as string) : quoteIfHuge(c.value as string) };
  return { ...keyField('key', c.key), target: c.target, op: c.op, ...value };
}

/** Revisions past 2^53 stay strings so no YAML reader rounds them. */
function quoteIfHuge(decimal: string): number | string {
  return Number.isSafeInteger(Number(decimal)) ? Number(decimal) : decimal;
}

/** A YAML Txn document for a spec (the inverse of {@link parseTxnDocument}). */
export function txnDocumentFromSpec(spec: TxnSpec, headerComment?: string): string {
  const doc = {
    compare: spec.compare.map(compareToDocument),
    success: spec.success.map(opToDocument),
    failure: spec.failure.map(opToDocument),
  };
  const document = new Document(doc, { aliasDuplicateObjects: false });
  visit(document, {
    Pair(_key, pair, path) {
      // `op: "=="` as people write it; each operation on one line, `- put: { key: …, value: … }`.
      if (isScalar(pair.key) && pair.key.value === 'op' && isScalar(pair.value)) pair.value.type = 'QUOTE_DOUBLE';
      if (path.length === 5 && isMap(pair.value)) pair.value.flow = true;
    },
  });
  const yaml = document.toString({ lineWidth: 0, flowCollectionPadding: true });
  return `${headerComment ? `${headerComment.replace(/^/gm, '# ')}\n` : ''}${yaml}`;
}

/**
 * A Txn document pre-filled from keys: a compare-and-swap of each (mod_revision == current, or create_revision
 * == 0 for a key that does not exist), a put per key with its current value and lease, and reads of the keys in
 * the failure branch so a conflict shows what changed.
 */
export function txnDocumentFromRecords(
  records: ReadonlyArray<{ key: Buffer; value: Buffer; modRevision: string; lease: string }>,
): string {
  const spec: TxnSpec = {
    compare: records.map((r) =>
      r.modRevision === '0'
        ? { key: r.key, target: 'create_revision' as const, op: '==' as const, value: '0' }
        : { key: r.key, target: 'mod_revision' as const, op: '==' as const, value: r.modRevision },
    ),
    success: records.map((r) => ({
      kind: 'put' as const,
      key: r.key,
      value: r.value,
      ...(r.lease && r.lease !== '0' ? { lease: r.lease } : {}),
    })),
    failure: records.map((r) => ({ kind: 'get' as const, key: r.key })),
  };
  return txnDocumentFromSpec(
    spec,
    [
      'Runs atomically: if every compare holds (nobody changed these keys since they were read), `success` runs,',
      'otherwise `failure` reads them so you can see what changed. Edit the values, then Run or Dry run.',
      'Keys: UTF-8 text with \\xNN for other bytes and \\\\ for a backslash; binary values use valueBase64.',
    ].join('\n'),
  );
}
