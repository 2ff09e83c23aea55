import type { Etcd3, ICompare, IKeyValue, IRequestOp, IResponseOp, ITxnResponse } from 'etcd3';
import { Document, Node, Pair, isMap, isScalar, isSeq, parseDocument, stringify, visit } from 'yaml';
import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { displayKey, isValidUtf8, parseDisplayKey, prefixEnd } from './keyCodec';
import { leaseHex, parseLeaseId } from './leases';

export type TxnFormat = 'yaml' | 'json';

/** A problem in a Txn document; `start`/`end` are offsets into the document text. */
export interface TxnDiagnostic {
  readonly message: string;
  readonly severity: 'error' | 'warning';
  readonly start: number;
  readonly end: number;
}

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
  | { readonly kind: 'put'; readonly key: Buffer; readonly value: Buffer; readonly lease?: string; readonly prevKv?: boolean }
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

export interface ParsedTxn {
  /** Undefined when any diagnostic is an error. */
  readonly spec?: TxnSpec;
  readonly diagnostics: TxnDiagnostic[];
}

/** etcd's default --max-txn-ops; it applies to compares, success and failure separately. */
export const DEFAULT_MAX_TXN_OPS = 128;

const TARGETS: readonly CompareTarget[] = ['value', 'version', 'create_revision', 'mod_revision', 'lease'];
const OPS: readonly CompareOp[] = ['==', '!=', '<', '>'];
const TOP_FIELDS = ['compare', 'success', 'failure'];
const COMPARE_FIELDS = ['key', 'keyBase64', 'target', 'op', 'value', 'valueBase64'];
const OP_FIELDS: Record<TxnOp['kind'], string[]> = {
  put: ['key', 'keyBase64', 'value', 'valueBase64', 'lease', 'prevKv'],
  get: ['key', 'keyBase64', 'prefix', 'rangeEnd', 'rangeEndBase64', 'limit', 'keysOnly', 'countOnly'],
  delete: ['key', 'keyBase64', 'prefix', 'rangeEnd', 'rangeEndBase64', 'prevKv'],
};
/** Names people reach for (etcd's RPC names, etcdctl verbs) → the kind they mean. */
const OP_ALIASES: Record<string, TxnOp['kind']> = { range: 'get', deleteRange: 'delete', 'delete-range': 'delete', del: 'delete' };
const INT64_MAX = (1n << 63n) - 1n;
const OPEN_END = Buffer.from([0]);

type Range = readonly [number, number];
type Written = { readonly op: TxnOp; readonly at: Range };

/**
 * Parses and validates a Txn document (YAML, or JSON through the same parser after a strict JSON.parse). Every
 * mistake is reported with the exact text it concerns, so the editor can underline it; the spec is returned
 * only when nothing is an error, so an invalid document can never be sent.
 */
export function parseTxnDocument(text: string, format: TxnFormat, options: { maxTxnOps?: number } = {}): ParsedTxn {
  return new TxnDocumentParser(text, options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS).parse(format);
}

class TxnDocumentParser {
  private readonly diagnostics: TxnDiagnostic[] = [];

  constructor(
    private readonly text: string,
    private readonly maxTxnOps: number,
  ) {}

  parse(format: TxnFormat): ParsedTxn {
    const spec = this.parseSpec(format);
    const ok = spec && !this.diagnostics.some((d) => d.severity === 'error');
    return { spec: ok ? spec : undefined, diagnostics: this.diagnostics };
  }

  private parseSpec(format: TxnFormat): TxnSpec | undefined {
    if (format === 'json' && this.text.trim() && !this.strictJson()) return undefined;
    const doc = parseDocument(this.text, { prettyErrors: false, uniqueKeys: true });
    for (const e of doc.errors) this.error(this.token(e.pos[0], e.pos[1]), firstLine(e.message));
    for (const w of doc.warnings) this.warn([w.pos[0], w.pos[1]], firstLine(w.message));
    if (doc.errors.length) return undefined;
    const root = doc.contents;
    if (!root || (isScalar(root) && root.value === null)) {
      this.error([0, this.text.length], 'The Txn document is empty: add `compare`, `success` and `failure` lists.');
      return undefined;
    }
    if (isMap(root) && root.items.length === 0) {
      this.error(rangeOf(root), 'The Txn document is empty: add `compare`, `success` and `failure` lists.');
      return undefined;
    }
    if (!isMap(root)) {
      this.error(rangeOf(root), 'A Txn document is a mapping with `compare`, `success` and `failure` lists.');
      return undefined;
    }
    const fields = this.fields(root.items, TOP_FIELDS, 'a Txn document');
    const compare = this.list(fields.get('compare'), 'compare').flatMap((n) => this.compare(n) ?? []);
    const branches = { success: [] as Written[], failure: [] as Written[] };
    for (const branch of ['success', 'failure'] as const) {
      branches[branch] = this.list(fields.get(branch), branch).flatMap((n) => this.op(n) ?? []);
    }
    for (const name of TOP_FIELDS) {
      const pair = fields.get(name);
      const count = pair && isSeq(pair.value) ? pair.value.items.length : 0;
      if (pair && count > this.maxTxnOps) {
        this.error(
          rangeOf(pair.key),
          `\`${name}\` has ${count} ${name === 'compare' ? 'compares' : 'operations'}; the server allows at most ${this.maxTxnOps} per list (--max-txn-ops). Split the Txn.`,
        );
      }
    }
    for (const branch of ['success', 'failure'] as const) this.checkOverlaps(branches[branch], branch);
    // Warnings about intent only make sense once the document says what it means.
    if (!this.diagnostics.some((d) => d.severity === 'error')) this.warnings(fields, compare.length, branches);
    return {
      compare,
      success: branches.success.map((w) => w.op),
      failure: branches.failure.map((w) => w.op),
    };
  }

  /** Strict JSON first (the YAML parser would accept comments, trailing commas and unquoted words). */
  private strictJson(): boolean {
    const problem = jsonSyntaxError(this.text);
    if (!problem) return true;
    this.error([problem.at, Math.min(this.text.length, problem.at + 1)], `JSON syntax error: ${problem.message}.`);
    return false;
  }

  private warnings(fields: Map<string, Pair>, compares: number, branches: Record<'success' | 'failure', Written[]>): void {
    if (compares === 0) {
      const anchor = fields.get('compare') ?? fields.get('success') ?? fields.get('failure');
      const at: Range = anchor ? rangeOf(anchor.key) : [0, 0];
      this.warn(at, 'This Txn has no compares: it always runs `success` (and never `failure`).');
      for (const w of branches.success) {
        if (w.op.kind === 'delete' && w.op.rangeEnd) {
          this.warn(w.at, 'Range delete without any compare: it deletes whatever is there when it runs. Add a compare to guard it.');
        }
      }
    }
    if (!branches.success.length && !branches.failure.length && fields.size) {
      const anchor = fields.get('success') ?? fields.get('failure') ?? fields.get('compare')!;
      this.warn(rangeOf(anchor.key), 'Neither `success` nor `failure` has an operation: running this Txn does nothing.');
    }
  }

  /**
   * etcd 3.4 rejects a branch whose puts hit the same key twice or fall inside one of its deletes
   * ("duplicate key given in txn request"), in any order. Deletes may overlap each other. A delete with no upper
   * bound escapes its interval check (the "\0" end sorts first), so that case is only a warning.
   */
  private checkOverlaps(ops: Written[], branch: string): void {
    for (let i = 0; i < ops.length; i++) {
      for (let j = 0; j < i; j++) {
        const clash = overlap(ops[j].op, ops[i].op);
        if (!clash) continue;
        const earlier = `the ${ops[j].op.kind} at line ${this.line(ops[j].at[0])}`;
        const key = displayKey(ops[i].op.kind === 'put' ? ops[i].op.key : ops[j].op.key);
        if (clash === 'error') {
          this.error(
            ops[i].at,
            `"${key}" is also written by ${earlier} of \`${branch}\`; etcd rejects a Txn that writes a key twice in one branch ("duplicate key given in txn request").`,
          );
        } else {
          this.warn(
            ops[i].at,
            `"${key}" also falls in the open-ended delete range of ${earlier}: inside a namespace etcd rejects this ("duplicate key given in txn request"), otherwise the order of the ops decides.`,
          );
        }
        break;
      }
    }
  }

  private compare(node: unknown): TxnCompare | undefined {
    if (!isMap(node)) {
      this.error(rangeOf(node), 'A compare is a mapping: { key, target, op, value }.');
      return undefined;
    }
    const fields = this.fields(node.items, COMPARE_FIELDS, 'a compare');
    const key = this.key(fields, 'key', 'keyBase64', rangeOf(node), true);
    const targetPair = fields.get('target');
    const opPair = fields.get('op');
    let target: CompareTarget | undefined;
    let op: CompareOp | undefined;
    if (!targetPair) this.error(rangeOf(node), `Missing \`target\`: one of ${TARGETS.join(', ')}.`);
    else {
      const t = scalarText(targetPair.value);
      if (t !== undefined && (TARGETS as readonly string[]).includes(t)) target = t as CompareTarget;
      else this.error(rangeOf(targetPair.value), `Unknown compare target "${t ?? ''}"${suggest(t, TARGETS)}. Use ${TARGETS.join(', ')}.`);
    }
    if (!opPair) this.error(rangeOf(node), 'Missing `op`: one of ==, !=, <, >.');
    else {
      const o = scalarText(opPair.value);
      if (o !== undefined && (OPS as readonly string[]).includes(o)) op = o as CompareOp;
      else this.error(rangeOf(opPair.value), `Unknown compare op "${o ?? ''}". Use ==, !=, < or > (quoted in YAML: op: "==").`);
    }
    const valuePair = fields.get('value');
    const base64Pair = fields.get('valueBase64');
    if (!target) return undefined;
    let value: Buffer | string | undefined;
    if (target === 'value') {
      value = this.bytes(fields, 'value', 'valueBase64', rangeOf(node), 'text');
    } else if (base64Pair) {
      this.error(rangeOf(base64Pair.key), `\`valueBase64\` only goes with target value; ${target} compares a number.`);
    } else if (!valuePair) {
      this.error(rangeOf(node), `Missing \`value\`: the ${target} to compare with.`);
    } else if (target === 'lease') {
      value = this.lease(valuePair);
    } else {
      value = this.uint(valuePair, `${target} must be a non-negative integer`);
    }
    if (!key || !op || value === undefined) return undefined;
    return { key, target, op, value };
  }

  private op(node: unknown): Written | undefined {
    if (!isMap(node) || node.items.length === 0) {
      this.error(rangeOf(node), 'An operation is a mapping with one of put, get or delete, e.g. `- get: { key: /a }`.');
      return undefined;
    }
    if (node.items.length > 1) {
      this.error(rangeOf(node.items[1].key), 'One operation per list item: start another item with `- `.');
      return undefined;
    }
    const pair = node.items[0] as Pair;
    const name = scalarText(pair.key) ?? '';
    const kind = (Object.keys(OP_FIELDS) as TxnOp['kind'][]).find((k) => k === name);
    const at = rangeOf(pair.key);
    if (!kind) {
      const alias = OP_ALIASES[name];
      const hint = alias ? ` (did you mean "${alias}"?)` : suggest(name, Object.keys(OP_FIELDS));
      this.error(at, `Unknown operation "${name}"${hint}. Use put, get or delete.`);
      return undefined;
    }
    if (!isMap(pair.value)) {
      this.error(pair.value ? rangeOf(pair.value) : at, `\`${kind}\` takes a mapping, e.g. \`${kind}: { key: /a }\`.`);
      return undefined;
    }
    const fields = this.fields(pair.value.items, OP_FIELDS[kind], `a ${kind}`);
    const ranged = kind !== 'put';
    const prefixPair = fields.get('prefix');
    const prefix = prefixPair ? this.bool(prefixPair) : false;
    const hasEnd = fields.has('rangeEnd') || fields.has('rangeEndBase64');
    // An empty key is the start of the keyspace (or namespace) for a range, and no key at all otherwise.
    const key = this.key(fields, 'key', 'keyBase64', at, !prefix && !hasEnd);
    if (kind === 'put') {
      const value = this.bytes(fields, 'value', 'valueBase64', at, 'text');
      const leasePair = fields.get('lease');
      const lease = leasePair ? this.lease(leasePair) : undefined;
      const prevKv = this.flag(fields, 'prevKv');
      if (!key || !value || (leasePair && lease === undefined)) return undefined;
      return { op: { kind, key, value, ...(lease !== undefined ? { lease } : {}), ...(prevKv ? { prevKv } : {}) }, at };
    }
    let rangeEnd: Buffer | undefined;
    if (ranged && hasEnd) {
      rangeEnd = this.key(fields, 'rangeEnd', 'rangeEndBase64', at, false, true);
      if (prefix) this.error(rangeOf(prefixPair!.key), 'Use either `prefix: true` or `rangeEnd`, not both.');
    } else if (prefix && key) {
      rangeEnd = prefixEnd(key);
    }
    if (!key) return undefined;
    if (kind === 'delete') {
      const prevKv = this.flag(fields, 'prevKv');
      return { op: { kind, key, ...(rangeEnd ? { rangeEnd } : {}), ...(prevKv ? { prevKv } : {}) }, at };
    }
    const limitPair = fields.get('limit');
    const limit = limitPair ? this.uint(limitPair, 'limit must be a non-negative integer') : undefined;
    const keysOnly = this.flag(fields, 'keysOnly');
    const countOnly = this.flag(fields, 'countOnly');
    return {
      op: {
        kind,
        key,
        ...(rangeEnd ? { rangeEnd } : {}),
        ...(limit !== undefined && limit !== '0' ? { limit: Number(limit) } : {}),
        ...(keysOnly ? { keysOnly } : {}),
        ...(countOnly ? { countOnly } : {}),
      },
      at,
    };
  }

  /** Collects a mapping's fields, reporting unknown ones (with a suggestion) on their names. */
  private fields(items: unknown[], allowed: string[], what: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const item of items as Pair[]) {
      const name = scalarText(item.key);
      if (name === undefined) {
        this.error(rangeOf(item.key), `Field names of ${what} are plain words.`);
      } else if (!allowed.includes(name)) {
        const sortHint = /^sort/i.test(name) ? ' Txn reads take no sort order (etcd ignores the limit of a sorted read).' : '';
        this.error(rangeOf(item.key), `Unknown field "${name}" in ${what}${suggest(name, allowed)}. Allowed: ${allowed.join(', ')}.${sortHint}`);
      } else {
        out.set(name, item);
      }
    }
    return out;
  }

  private list(pair: Pair | undefined, name: string): unknown[] {
    if (!pair || (isScalar(pair.value) && pair.value.value === null)) return [];
    if (!isSeq(pair.value)) {
      this.error(rangeOf(pair.value), `\`${name}\` is a list (items start with "- ").`);
      return [];
    }
    return pair.value.items;
  }

  /** A key given as display text (`name`) or base64 (`name`Base64), exactly one of them. */
  private key(fields: Map<string, Pair>, name: string, base64Name: string, at: Range, required: boolean, isEnd = false): Buffer | undefined {
    const textPair = fields.get(name);
    const b64Pair = fields.get(base64Name);
    if (textPair && b64Pair) {
      this.error(rangeOf(b64Pair.key), `Use either \`${name}\` or \`${base64Name}\`, not both.`);
      return undefined;
    }
    if (!textPair && !b64Pair) {
      if (!isEnd) this.error(at, `Missing \`${name}\` (or \`${base64Name}\` for binary keys).`);
      return undefined;
    }
    const pair = (textPair ?? b64Pair)!;
    const key = textPair ? this.displayText(textPair, name) : this.base64(b64Pair!);
    if (key && key.length === 0 && isEnd) {
      this.error(rangeOf(pair.value ?? pair.key), `\`${name}\` is empty; leave it out to address a single key, or write "\\x00" for "no upper bound".`);
      return undefined;
    }
    if (key && key.length === 0 && required) {
      this.error(rangeOf(pair.value ?? pair.key), `\`${name}\` is empty; etcd has no empty key (add \`prefix: true\` for every key).`);
      return undefined;
    }
    return key;
  }

  /** A value given as UTF-8 text or base64 (exactly one). */
  private bytes(fields: Map<string, Pair>, name: string, base64Name: string, at: Range, what: string): Buffer | undefined {
    const textPair = fields.get(name);
    const b64Pair = fields.get(base64Name);
    if (textPair && b64Pair) {
      this.error(rangeOf(b64Pair.key), `Use either \`${name}\` or \`${base64Name}\`, not both.`);
      return undefined;
    }
    if (!textPair && !b64Pair) {
      this.error(at, `Missing \`${name}\` (${what}; or \`${base64Name}\` for binary values).`);
      return undefined;
    }
    if (b64Pair) return this.base64(b64Pair);
    const text = scalarText(textPair!.value);
    if (text === undefined) {
      this.error(rangeOf(textPair!.value ?? textPair!.key), `\`${name}\` must be ${what} (quote it if in doubt).`);
      return undefined;
    }
    return Buffer.from(text, 'utf8');
  }

  private displayText(pair: Pair, name: string): Buffer | undefined {
    const text = scalarText(pair.value);
    if (text === undefined) {
      this.error(rangeOf(pair.value ?? pair.key), `\`${name}\` must be text.`);
      return undefined;
    }
    const bad = badEscape(text);
    if (bad) {
      this.error(
        this.escapeRange(pair.value as Node, text, bad),
        `Bad escape "${text.slice(bad.index, bad.index + bad.length)}" in \`${name}\`: write \\\\ for a backslash and \\xNN (two hex digits) for a byte.`,
      );
      return undefined;
    }
    return parseDisplayKey(text);
  }

  /** Finds the offending escape in the source (written doubled inside double quotes); the whole scalar if not found. */
  private escapeRange(node: Node, value: string, bad: { index: number; length: number }): Range {
    const whole = rangeOf(node);
    const seq = value.slice(bad.index, bad.index + bad.length);
    let nth = 0;
    for (let i = value.indexOf(seq); i >= 0 && i < bad.index; i = value.indexOf(seq, i + 1)) nth++;
    const src = this.text.slice(whole[0], whole[1]);
    const written = isScalar(node) && node.type === 'QUOTE_DOUBLE' ? seq.replace(/\\/g, '\\\\') : seq;
    let pos = src.indexOf(written);
    for (let k = 0; k < nth && pos >= 0; k++) pos = src.indexOf(written, pos + 1);
    return pos >= 0 ? [whole[0] + pos, whole[0] + pos + written.length] : whole;
  }

  private base64(pair: Pair): Buffer | undefined {
    const text = scalarText(pair.value);
    const decoded = text === undefined ? undefined : decodeBase64(text);
    if (!decoded) this.error(rangeOf(pair.value ?? pair.key), `\`${scalarText(pair.key)}\` is not valid base64 (A–Z, a–z, 0–9, +, /, padded with = to a multiple of 4).`);
    return decoded;
  }

  private lease(pair: Pair): string | undefined {
    const text = scalarText(pair.value);
    const t = text?.trim().toLowerCase().replace(/^0x/, '');
    if (t !== undefined && /^[0-9a-f]{1,16}$/.test(t) && BigInt(`0x${t}`) <= INT64_MAX) return parseLeaseId(t);
    this.error(rangeOf(pair.value ?? pair.key), `"${text ?? ''}" is not a lease id: write it in hex as etcdctl shows it (e.g. 694d7a1c2b3f0a11), 0 for none.`);
    return undefined;
  }

  /** A non-negative int64 as a decimal string; read from the source text so large revisions keep every digit. */
  private uint(pair: Pair, message: string): string | undefined {
    const text = scalarText(pair.value);
    if (text !== undefined && /^\d+$/.test(text) && BigInt(text) <= INT64_MAX) return BigInt(text).toString();
    this.error(rangeOf(pair.value ?? pair.key), `${message}, not "${text ?? ''}".`);
    return undefined;
  }

  private bool(pair: Pair): boolean {
    if (isScalar(pair.value) && typeof pair.value.value === 'boolean') return pair.value.value;
    this.error(rangeOf(pair.value ?? pair.key), `\`${scalarText(pair.key)}\` is true or false.`);
    return false;
  }

  private flag(fields: Map<string, Pair>, name: string): boolean {
    const pair = fields.get(name);
    return pair ? this.bool(pair) : false;
  }

  /** A parser error's range, widened from blank space to the token that follows it on the line. */
  private token(start: number, end: number): Range {
    if (this.text.slice(start, end).trim()) return [start, end];
    let s = start;
    while (s < this.text.length && (this.text[s] === ' ' || this.text[s] === '\t')) s++;
    let e = s;
    while (e < this.text.length && !/\s/.test(this.text[e])) e++;
    return e > s ? [s, e] : [start, Math.max(end, Math.min(this.text.length, start + 1))];
  }

  private line(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) line++;
    return line;
  }

  private error(at: Range, message: string): void {
    this.diagnostics.push({ message, severity: 'error', start: at[0], end: at[1] });
  }

  private warn(at: Range, message: string): void {
    this.diagnostics.push({ message, severity: 'warning', start: at[0], end: at[1] });
  }
}

function rangeOf(node: unknown): Range {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : [0, 0];
}

/** A scalar's text as written: plain numbers and booleans keep their source spelling ("007", "1e5"). */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  if (typeof node.value === 'string') return node.value;
  if (node.type === 'PLAIN' && typeof node.source === 'string') return node.source;
  return String(node.value);
}

/** Position and reason of the first JSON syntax error (RFC 8259), or undefined for valid JSON. */
export function jsonSyntaxError(text: string): { at: number; message: string } | undefined {
  let i = 0;
  class Fail {
    constructor(
      readonly at: number,
      readonly message: string,
    ) {}
  }
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (message: string): never => {
    throw new Fail(i, i >= text.length ? 'unexpected end of the text' : message);
  };
  const expect = (c: string, what: string) => (text[i] === c ? i++ : fail(`expected ${what}, found ${JSON.stringify(text[i])}`));
  const string = () => {
    expect('"', 'a double-quoted string');
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail('control character in a string (escape it)');
      if (text[i] === '\\') {
        const esc = /^\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/.exec(text.slice(i, i + 6));
        if (!esc) fail('invalid escape in a string (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        i += esc![0].length;
      } else i++;
    }
    expect('"', 'the closing quote');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(':', '":"');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('trailing comma');
          continue;
        }
        return void expect('}', '"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('trailing comma');
          continue;
        }
        return void expect(']', '"," or "]"');
      }
    }
    if (c === '"') return string();
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (lit && lit[0]) return void (i += lit[0].length);
    fail(`unexpected ${JSON.stringify(c)}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the end of the document`);
    return undefined;
  } catch (err) {
    if (err instanceof Fail) return { at: err.at, message: err.message };
    throw err;
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

function badEscape(text: string): { index: number; length: number } | undefined {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') continue;
    if (text[i + 1] === '\\') {
      i++;
    } else if (text[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      i += 3;
    } else if (text[i + 1] === 'x') {
      // Cover "\x" and the hex digits that are there (fewer than two).
      return { index: i, length: 2 + /^[0-9a-fA-F]?/.exec(text.slice(i + 2))![0].length };
    } else {
      return { index: i, length: Math.min(2, text.length - i) };
    }
  }
  return undefined;
}

function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function suggest(word: string | undefined, candidates: readonly string[]): string {
  if (!word) return '';
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

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

function overlap(a: TxnOp, b: TxnOp): false | 'error' | 'open' {
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
  for (const [name, list] of [['compare', spec.compare], ['success', spec.success], ['failure', spec.failure]] as const) {
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
  for (const [name, ops] of [['success', spec.success], ['failure', spec.failure]] as const) {
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
function absRange(conn: EtcdConnection, key: Buffer, rangeEnd: Buffer | undefined): { key: Buffer; range_end?: Buffer } {
  const abs = conn.absoluteKey(key);
  if (!rangeEnd) return { key: abs };
  const end = isOpenEnd(rangeEnd) ? (conn.namespace.length ? prefixEnd(conn.namespace) : OPEN_END) : conn.absoluteKey(rangeEnd);
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
      return { request_put: { key: conn.absoluteKey(op.key), value: op.value, lease: op.lease ?? '0', prev_kv: op.prevKv === true } };
    case 'get':
      // Never a sort order (etcd ≤ 3.6 ignores the limit of a sorted range).
      return {
        request_range: { ...absRange(conn, op.key, op.rangeEnd), limit: op.limit ?? 0, keys_only: op.keysOnly === true, count_only: op.countOnly === true },
      };
    case 'delete':
      return { request_delete_range: { ...absRange(conn, op.key, op.rangeEnd), prev_kv: op.prevKv === true } };
  }
}

function encodeValue(value: Buffer): { value: string; valueEncoding: 'utf8' | 'base64' } {
  return isValidUtf8(value) ? { value: value.toString('utf8'), valueEncoding: 'utf8' } : { value: value.toString('base64'), valueEncoding: 'base64' };
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
      return { kind: 'get', key, count: Number(r?.count ?? 0), kvs: (r?.kvs ?? []).map((kv) => toKv(conn, kv, op.keysOnly === true)) };
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
    const leases = [...new Set([...spec.success, ...spec.failure].flatMap((op) => (op.kind === 'put' && op.lease && op.lease !== '0' ? [leaseHex(op.lease)] : [])))];
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
    res = writes ? await conn.write('run the Txn', send, options.signal) : await conn.call('run the Txn', send, options.signal);
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
export async function dryRunTxn(conn: EtcdConnection, spec: TxnSpec, options: { signal?: AbortSignal; maxTxnOps?: number } = {}): Promise<DryRunResult> {
  validateTxnSpec({ compare: spec.compare, success: [], failure: [] }, options.maxTxnOps);
  const keys = new Map<string, { key: Buffer; value: boolean }>();
  for (const c of spec.compare) {
    const id = c.key.toString('base64');
    const seen = keys.get(id);
    keys.set(id, { key: c.key, value: (seen?.value ?? false) || c.target === 'value' });
  }
  // Values are read only where a value is compared: the others need just the metadata.
  const reads: IRequestOp[] = [...keys.values()].map((k) => ({ request_range: { key: conn.absoluteKey(k.key), keys_only: !k.value } }));
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
    return { ...base, expected, actual: showBytes(kv.value), holds: holds(c.op, Buffer.compare(kv.value, c.value as Buffer)) };
  }
  const field = { version: 'version', create_revision: 'create_revision', mod_revision: 'mod_revision', lease: 'lease' } as const;
  const actual = kv ? BigInt(kv[field[c.target]] || '0') : 0n;
  const expected = BigInt(c.value as string);
  const show = (n: bigint) => (c.target === 'lease' ? n.toString(16) : n.toString());
  return { ...base, expected: show(expected), actual: kv ? show(actual) : undefined, holds: holds(c.op, actual < expected ? -1 : actual > expected ? 1 : 0) };
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

// ---------------------------------------------------------------------------------------------------------------
// Documents

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
export function txnDocumentFromRecords(records: ReadonlyArray<{ key: Buffer; value: Buffer; modRevision: string; lease: string }>): string {
  const spec: TxnSpec = {
    compare: records.map((r) =>
      r.modRevision === '0'
        ? { key: r.key, target: 'create_revision' as const, op: '==' as const, value: '0' }
        : { key: r.key, target: 'mod_revision' as const, op: '==' as const, value: r.modRevision },
    ),
    success: records.map((r) => ({ kind: 'put' as const, key: r.key, value: r.value, ...(r.lease && r.lease !== '0' ? { lease: r.lease } : {}) })),
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
