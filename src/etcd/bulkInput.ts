import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { EtcdExplorerError } from './errors';
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

export interface DeleteTarget {
  readonly key: Buffer;
  readonly prefix?: boolean;
}

const ENTRY_FIELDS = new Set([
  'key',
  'keyBase64',
  'keyEncoding',
  'value',
  'valueBase64',
  'valueEncoding',
  'lease',
  'createRevision',
  'modRevision',
  'version',
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
    throw invalid(
      `The YAML input is not valid${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}.`,
    );
  }
  const where = (range: readonly number[] | null | undefined, fallback: string) =>
    range ? `line ${lines.linePos(range[0]).line}` : fallback;
  const root = doc.contents;
  if (root === null || root === undefined) return [];
  if (isSeq(root)) {
    return root.items.map((node, i) => {
      const range = (node as { range?: number[] }).range;
      return entryItem(
        (node as { toJSON?: () => unknown }).toJSON?.() ?? node,
        `${where(range, `entry ${i + 1}`)} (entry ${i + 1})`,
      );
    });
  }
  if (isMap(root)) {
    return root.items.map((pair, i) => {
      const keyNode = pair.key;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      const range = (keyNode as { range?: number[] } | null)?.range;
      const label = `${where(range, `entry ${i + 1}`)} (key "${String(key)}")`;
      if (typeof key !== 'string' && typeof key !== 'number') throw invalid(`${label}: keys must be text.`);
      const value =
        (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ??
        (isScalar(pair.value) ? pair.value.value : pair.value);
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
    throw invalid(
      `line ${lineNo}: not valid JSON (${(err as Error).message.replace(/ in JSON at position \d+.*$/, '')}).`,
    );
  }
  if (isPlainObject(data) && 'etcdExport' in data) return undefined;
  return entryItem(data, `line ${lineNo}`);
}

function entryItem(entry: unknown, where: string): BulkItem {
  if (!isPlainObject(entry)) throw invalid(`${where}: expected an object {key, value}.`);
  for (const field of Object.keys(entry)) {
    if (!ENTRY_FIELDS.has(field)) throw invalid(`${where}: unknown field "${field}".`);
  }
  if (entry.key !== undefined && entry.keyBase64 !== undefined)
    throw invalid(`${where}: give "key" or "keyBase64", not both.`);
  let key: Buffer;
  if (entry.keyBase64 !== undefined) key = base64Field(entry.keyBase64, 'keyBase64', where);
  else if (typeof entry.key === 'string') key = encodedField(entry.key, entry.keyEncoding, 'key', where);
  else throw invalid(`${where}: "key" (text) or "keyBase64" is required.`);
  if (key.length === 0) throw invalid(`${where}: the key is empty.`);
  const value = entryValue(entry, where);
  const modRevision = entry.modRevision;
  if (
    modRevision !== undefined &&
    !(typeof modRevision === 'string' && /^\d+$/.test(modRevision)) &&
    !Number.isSafeInteger(modRevision)
  ) {
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
      if (!['value', 'valueBase64', 'valueEncoding', 'lease'].includes(field))
        throw invalid(`${where}: unknown field "${field}".`);
    }
    return { key: Buffer.from(key, 'utf8'), value: entryValue(v, where), ...leaseField(v.lease, where) };
  }
  return { key: Buffer.from(key, 'utf8'), value: scalarValue(v, where) };
}

function entryValue(entry: Record<string, unknown>, where: string): Buffer {
  if (entry.value !== undefined && entry.valueBase64 !== undefined)
    throw invalid(`${where}: give "value" or "valueBase64", not both.`);
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
// Repeated keys and overlapping targets

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
    if (!t.prefix && t.key.length === 0)
      throw invalid('A delete target key is empty (use a prefix target to delete everything).');
    out.push({ key: t.key, prefix: !!t.prefix });
    if (t.prefix) cover = t.key;
  }
  return out;
}
