import { Reader } from 'protobufjs/minimal';
import { KubernetesSchemaIndex, type MessageType } from './schema';
import {
  FIELD_INLINE,
  FIELD_MAP,
  FIELD_OMITEMPTY,
  FIELD_POINTER,
  FIELD_REPEATED,
  type FieldDescriptor,
  type SpecialKind,
} from './schemaTypes';
import { goDuration, rfc3339, rfc3339Micro } from './goFormat';

/** A protobuf value that does not parse; `path` says where (e.g. "spec.containers[0].ports"). */
export class ProtobufDecodeError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(path ? `${reason} (at ${path})` : reason);
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** The wire type a field of this type is written with (packed lists aside). */
export function wireTypeOf(type: string | number): number {
  if (typeof type === 'number') return WIRE_BYTES;
  switch (type) {
    case 'string':
    case 'bytes':
      return WIRE_BYTES;
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WIRE_FIXED64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

/** 64-bit values arrive as Long (when the `long` package is loadable) or as numbers; JSON wants numbers. */
function toNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

function readScalar(reader: Reader, type: string): Json {
  switch (type) {
    case 'string':
      return reader.string();
    case 'bytes':
      return Buffer.from(reader.bytes()).toString('base64');
    case 'bool':
      return reader.bool();
    case 'int32':
      return reader.int32();
    case 'uint32':
      return reader.uint32();
    case 'sint32':
      return reader.sint32();
    case 'int64':
      return toNumber(reader.int64());
    case 'uint64':
      return toNumber(reader.uint64());
    case 'sint64':
      return toNumber(reader.sint64());
    case 'fixed32':
      return reader.fixed32();
    case 'sfixed32':
      return reader.sfixed32();
    case 'fixed64':
      return toNumber(reader.fixed64());
    case 'sfixed64':
      return toNumber(reader.sfixed64());
    case 'double':
      return reader.double();
    case 'float':
      return reader.float();
    default:
      // Enums: Kubernetes uses strings, but a number on the wire is still a number.
      return reader.int32();
  }
}

function isZero(v: Json): boolean {
  return v === 0 || v === '' || v === false || v === null;
}

/**
 * Decodes protobuf messages of the generated descriptor into the JSON the API server prints for them
 * (`kubectl get -o json`), following the Go struct tags the descriptor carries: JSON names, inlined structs,
 * omitempty (zero values left out) and pointers (printed when set, even to zero). Fields absent from the wire
 * and empty non-pointer structs are left out.
 */
export class ProtoObjectDecoder {
  constructor(private readonly schema: KubernetesSchemaIndex) {}

  /** The JSON of one message of `type` encoded in `bytes`; undefined when it prints as nothing (zero Time). */
  decode(type: MessageType, bytes: Uint8Array, path = ''): Json | undefined {
    const values = new Map<FieldDescriptor, Json | undefined | Json[]>();
    const reader = Reader.create(bytes);
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = this.guard(path, () => reader.uint32());
      const number = tag >>> 3;
      const wire = tag & 7;
      if (number === 0) throw new ProtobufDecodeError(`invalid field number 0 at byte ${start}`, path);
      const field = type.byNumber.get(number);
      if (!field) {
        // A field this descriptor does not know (a newer API server): skip it like Go's decoder does.
        this.guard(path, () => reader.skipType(wire));
        continue;
      }
      const [, jsonName, fieldType, flags] = field;
      const fieldPath = path ? `${path}.${jsonName || type.name.slice(type.name.lastIndexOf('.') + 1)}` : jsonName;
      if (flags & FIELD_MAP) {
        this.expectWire(wire, WIRE_BYTES, fieldPath);
        const entry = this.guard(fieldPath, () => reader.bytes());
        const [key, value] = this.decodeMapEntry(field, entry, fieldPath);
        const map = (values.get(field) as JsonObject | undefined) ?? {};
        map[String(key)] = value ?? null;
        values.set(field, map);
      } else if (flags & FIELD_REPEATED) {
        const list = (values.get(field) as Json[] | undefined) ?? [];
        const itemPath = `${fieldPath}[${list.length}]`;
        if (typeof fieldType === 'string' && wire === WIRE_BYTES && wireTypeOf(fieldType) !== WIRE_BYTES) {
          // Packed repeated scalars: proto2 writers normally do not pack, but decoders must accept both.
          const packed = Reader.create(this.guard(itemPath, () => reader.bytes()));
          while (packed.pos < packed.len) list.push(this.guard(itemPath, () => readScalar(packed, fieldType)));
        } else {
          const item = this.readValue(reader, wire, fieldType, itemPath);
          list.push(item === undefined ? null : item);
        }
        values.set(field, list);
      } else {
        values.set(field, this.readValue(reader, wire, fieldType, fieldPath));
      }
    }
    const special = type.descriptor[2];
    if (special) return this.special(special, type, values, path);
    return this.assemble(type, values);
  }

  /** Fields in Go order, with Go's JSON rules for what is printed. */
  private assemble(type: MessageType, values: Map<FieldDescriptor, Json | undefined | Json[]>): JsonObject {
    const out: JsonObject = {};
    for (const field of type.descriptor[1]) {
      if (!values.has(field)) continue;
      const value = values.get(field);
      const [, jsonName, fieldType, flags] = field;
      if (value === undefined || jsonName === '-') continue;
      if (flags & FIELD_INLINE) {
        if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
        continue;
      }
      if (flags & (FIELD_REPEATED | FIELD_MAP)) {
        out[jsonName] = value;
        continue;
      }
      if (typeof fieldType === 'number') {
        // A struct on the wire prints even when empty (`resources: {}`), as Go and kubectl print it.
        out[jsonName] = value;
        continue;
      }
      if (flags & FIELD_OMITEMPTY && !(flags & FIELD_POINTER) && isZero(value)) continue;
      out[jsonName] = value;
    }
    return out;
  }

  private readValue(reader: Reader, wire: number, fieldType: string | number, path: string): Json | undefined {
    this.expectWire(wire, wireTypeOf(fieldType), path);
    if (typeof fieldType === 'number') {
      const bytes = this.guard(path, () => reader.bytes());
      return this.decode(this.schema.type(fieldType), bytes, path);
    }
    return this.guard(path, () => readScalar(reader, fieldType));
  }

  private decodeMapEntry(field: FieldDescriptor, entry: Uint8Array, path: string): [Json, Json | undefined] {
    const [, , valueType, , keyType = 'string'] = field;
    const reader = Reader.create(entry);
    let key: Json = keyType === 'string' ? '' : 0;
    let value: Json | undefined;
    let valueSeen = false;
    while (reader.pos < reader.len) {
      const tag = this.guard(path, () => reader.uint32());
      const wire = tag & 7;
      if (tag >>> 3 === 1) key = this.readValue(reader, wire, keyType, path) ?? '';
      else if (tag >>> 3 === 2) {
        value = this.readValue(reader, wire, valueType, `${path}[${JSON.stringify(key)}]`);
        valueSeen = true;
      } else this.guard(path, () => reader.skipType(wire));
    }
    if (!valueSeen) {
      // An absent value is the type's zero value (Go fills the map with it).
      value =
        typeof valueType === 'number'
          ? this.decode(this.schema.type(valueType), new Uint8Array(0), path)
          : valueType === 'string' || valueType === 'bytes'
            ? ''
            : valueType === 'bool'
              ? false
              : 0;
    }
    return [key, value];
  }

  /** The hand-written MarshalJSON of Time, Quantity, IntOrString, RawExtension and friends. */
  private special(
    kind: SpecialKind,
    type: MessageType,
    values: Map<FieldDescriptor, Json | undefined | Json[]>,
    path: string,
  ): Json | undefined {
    const byNumber = (n: number): Json | undefined => {
      const field = type.byNumber.get(n);
      return field ? (values.get(field) as Json | undefined) : undefined;
    };
    switch (kind) {
      case 'time':
      case 'microTime': {
        if (values.size === 0) return undefined; // a zero Time is written as an empty message: JSON null
        const seconds = (byNumber(1) as number | undefined) ?? 0;
        const nanos = (byNumber(2) as number | undefined) ?? 0;
        return kind === 'time' ? rfc3339(seconds) : rfc3339Micro(seconds, nanos);
      }
      case 'duration':
        return goDuration((byNumber(1) as number | undefined) ?? 0);
      case 'quantity': {
        const s = byNumber(1) as string | undefined;
        return s ? s : '0';
      }
      case 'intOrString':
        return byNumber(1) === 1
          ? ((byNumber(3) as string | undefined) ?? '')
          : ((byNumber(2) as number | undefined) ?? 0);
      case 'rawJson': {
        const raw = byNumber(1) as string | undefined;
        return raw ? rawJson(Buffer.from(raw, 'base64'), path) : undefined;
      }
      case 'schemaOrArray':
      case 'schemaOrStringArray': {
        // A non-empty list wins over the schema, as in apiextensions' MarshalJSON.
        const list = byNumber(2) as Json[] | undefined;
        return list && list.length > 0 ? list : byNumber(1);
      }
      case 'schemaOrBool':
        return byNumber(2) ?? (byNumber(1) as boolean | undefined) ?? false;
      case 'list':
        return (byNumber(type.descriptor[1][0][0]) as Json[] | undefined) ?? [];
    }
  }

  private expectWire(actual: number, expected: number, path: string): void {
    if (actual !== expected) {
      throw new ProtobufDecodeError(`wire type ${actual} where the schema expects ${expected}`, path);
    }
  }

  /** Runs a Reader call, turning its range errors (truncated input) into a decode error with a path. */
  private guard<T>(path: string, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof ProtobufDecodeError) throw err;
      const text = err instanceof Error ? err.message : String(err);
      throw new ProtobufDecodeError(
        /index out of range/.test(text) ? `truncated data (${text})` : `corrupt data (${text})`,
        path,
      );
    }
  }
}

/**
 * Raw JSON embedded in an object (RawExtension, FieldsV1, apiextensions JSON): Go prints it verbatim.
 * Bytes that are not JSON (a protobuf RawExtension) are shown as base64 rather than dropped.
 */
function rawJson(raw: Buffer, path: string): Json {
  try {
    return JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    void path;
    return raw.toString('base64');
  }
}

/**
 * A message without a schema, dumped by field number: varints as numbers, length-delimited fields as nested
 * messages when they parse as one, text when they are printable, base64 otherwise; repeated numbers as arrays.
 */
export function dumpUnknownMessage(bytes: Uint8Array, depth = 0): JsonObject {
  const out: JsonObject = {};
  const reader = Reader.create(bytes);
  const repeated = new Set<string>();
  const add = (n: number, v: Json): void => {
    const key = String(n);
    if (!(key in out)) out[key] = v;
    else if (repeated.has(key)) (out[key] as Json[]).push(v);
    else {
      out[key] = [out[key], v];
      repeated.add(key);
    }
  };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const n = tag >>> 3;
    if (n === 0) throw new ProtobufDecodeError('invalid field number 0', '');
    switch (tag & 7) {
      case WIRE_VARINT:
        add(n, toNumber(reader.int64()));
        break;
      case WIRE_FIXED64:
        add(n, toNumber(reader.fixed64()));
        break;
      case WIRE_FIXED32:
        add(n, reader.fixed32());
        break;
      case WIRE_BYTES: {
        const b = reader.bytes();
        add(n, dumpBytes(b, depth));
        break;
      }
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${tag & 7} for field ${n}`, '');
    }
  }
  return out;
}

function dumpBytes(b: Uint8Array, depth: number): Json {
  const text = Buffer.from(b).toString('utf8');
  if (b.length > 0 && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/.test(text)) return text;
  if (depth < 32 && b.length > 0) {
    try {
      return dumpUnknownMessage(b, depth + 1);
    } catch {
      // not a message: fall through to base64
    }
  }
  return Buffer.from(b).toString('base64');
}
