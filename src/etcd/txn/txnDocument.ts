import { Node, Pair, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { jsonSyntaxError } from './jsonSyntax';
import { displayKey, parseDisplayKey, prefixEnd } from '../keyCodec';
import { parseLeaseId } from '../leases';
import { suggest } from '../suggest';
import { CompareOp, CompareTarget, DEFAULT_MAX_TXN_OPS, TxnCompare, TxnOp, TxnSpec, overlap } from './txn';

export type TxnFormat = 'yaml' | 'json';

/** A problem in a Txn document; `start`/`end` are offsets into the document text. */
export interface TxnDiagnostic {
  readonly message: string;
  readonly severity: 'error' | 'warning';
  readonly start: number;
  readonly end: number;
}

export interface ParsedTxn {
  /** Undefined when any diagnostic is an error. */
  readonly spec?: TxnSpec;
  readonly diagnostics: TxnDiagnostic[];
}

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
const OP_ALIASES: Record<string, TxnOp['kind']> = {
  range: 'get',
  deleteRange: 'delete',
  'delete-range': 'delete',
  del: 'delete',
};
const INT64_MAX = (1n << 63n) - 1n;

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

  private warnings(
    fields: Map<string, Pair>,
    compares: number,
    branches: Record<'success' | 'failure', Written[]>,
  ): void {
    if (compares === 0) {
      const anchor = fields.get('compare') ?? fields.get('success') ?? fields.get('failure');
      const at: Range = anchor ? rangeOf(anchor.key) : [0, 0];
      this.warn(at, 'This Txn has no compares: it always runs `success` (and never `failure`).');
      for (const w of branches.success) {
        if (w.op.kind === 'delete' && w.op.rangeEnd) {
          this.warn(
            w.at,
            'Range delete without any compare: it deletes whatever is there when it runs. Add a compare to guard it.',
          );
        }
      }
    }
    if (!branches.success.length && !branches.failure.length && fields.size) {
      const anchor = fields.get('success') ?? fields.get('failure') ?? fields.get('compare')!;
      this.warn(
        rangeOf(anchor.key),
        'Neither `success` nor `failure` has an operation: running this Txn does nothing.',
      );
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
      else
        this.error(
          rangeOf(targetPair.value),
          `Unknown compare target "${t ?? ''}"${suggest(t, TARGETS)}. Use ${TARGETS.join(', ')}.`,
        );
    }
    if (!opPair) this.error(rangeOf(node), 'Missing `op`: one of ==, !=, <, >.');
    else {
      const o = scalarText(opPair.value);
      if (o !== undefined && (OPS as readonly string[]).includes(o)) op = o as CompareOp;
      else
        this.error(
          rangeOf(opPair.value),
          `Unknown compare op "${o ?? ''}". Use ==, !=, < or > (quoted in YAML: op: "==").`,
        );
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
        const sortHint = /^sort/i.test(name)
          ? ' Txn reads take no sort order (etcd ignores the limit of a sorted read).'
          : '';
        this.error(
          rangeOf(item.key),
          `Unknown field "${name}" in ${what}${suggest(name, allowed)}. Allowed: ${allowed.join(', ')}.${sortHint}`,
        );
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

  /**
   * Exactly one of `name` (text) and `base64Name`: both is an error; neither is an error at `missing` when
   * given (an optional field passes undefined and reports nothing).
   */
  private textOrBase64(
    fields: Map<string, Pair>,
    name: string,
    base64Name: string,
    missing: [Range, string] | undefined,
  ): { textPair?: Pair; b64Pair?: Pair } | undefined {
    const textPair = fields.get(name);
    const b64Pair = fields.get(base64Name);
    if (textPair && b64Pair) {
      this.error(rangeOf(b64Pair.key), `Use either \`${name}\` or \`${base64Name}\`, not both.`);
      return undefined;
    }
    if (!textPair && !b64Pair) {
      if (missing) this.error(missing[0], missing[1]);
      return undefined;
    }
    return { textPair, b64Pair };
  }

  /** A key given as display text (`name`) or base64 (`name`Base64), exactly one of them. */
  private key(
    fields: Map<string, Pair>,
    name: string,
    base64Name: string,
    at: Range,
    required: boolean,
    isEnd = false,
  ): Buffer | undefined {
    const chosen = this.textOrBase64(
      fields,
      name,
      base64Name,
      isEnd ? undefined : [at, `Missing \`${name}\` (or \`${base64Name}\` for binary keys).`],
    );
    if (!chosen) return undefined;
    const { textPair, b64Pair } = chosen;
    const pair = (textPair ?? b64Pair)!;
    const key = textPair ? this.displayText(textPair, name) : this.base64(b64Pair!);
    if (key && key.length === 0 && isEnd) {
      this.error(
        rangeOf(pair.value ?? pair.key),
        `\`${name}\` is empty; leave it out to address a single key, or write "\\x00" for "no upper bound".`,
      );
      return undefined;
    }
    if (key && key.length === 0 && required) {
      this.error(
        rangeOf(pair.value ?? pair.key),
        `\`${name}\` is empty; etcd has no empty key (add \`prefix: true\` for every key).`,
      );
      return undefined;
    }
    return key;
  }

  /** A value given as UTF-8 text or base64 (exactly one). */
  private bytes(
    fields: Map<string, Pair>,
    name: string,
    base64Name: string,
    at: Range,
    what: string,
  ): Buffer | undefined {
    const chosen = this.textOrBase64(fields, name, base64Name, [
      at,
      `Missing \`${name}\` (${what}; or \`${base64Name}\` for binary values).`,
    ]);
    if (!chosen) return undefined;
    const { textPair, b64Pair } = chosen;
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
    if (!decoded)
      this.error(
        rangeOf(pair.value ?? pair.key),
        `\`${scalarText(pair.key)}\` is not valid base64 (A–Z, a–z, 0–9, +, /, padded with = to a multiple of 4).`,
      );
    return decoded;
  }

  private lease(pair: Pair): string | undefined {
    const text = scalarText(pair.value);
    const t = text?.trim().toLowerCase().replace(/^0x/, '');
    if (t !== undefined && /^[0-9a-f]{1,16}$/.test(t) && BigInt(`0x${t}`) <= INT64_MAX) return parseLeaseId(t);
    this.error(
      rangeOf(pair.value ?? pair.key),
      `"${text ?? ''}" is not a lease id: write it in hex as etcdctl shows it (e.g. 694d7a1c2b3f0a11), 0 for none.`,
    );
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
