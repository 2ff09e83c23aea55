import { Writer } from 'protobufjs/minimal';
import type { KubernetesObject } from './decode';
import { parseGoDuration } from './goFormat';
import { wireTypeOf } from './protoObject';
import { kubernetesSchema, type KubernetesSchemaIndex, type MessageType } from './schema';
import { FIELD_INLINE, FIELD_MAP, FIELD_REPEATED, type FieldDescriptor } from './schemaTypes';

/**
 * Writes an object the way kube-apiserver stores it: "k8s\0" + runtime.Unknown{typeMeta, raw, contentEncoding,
 * contentType} with the object in protobuf as `raw`. The inverse of decodeKubernetesValue for the kinds the
 * descriptor covers. It exists for the demo seeder and tests (the extension never writes protobuf objects back:
 * that would bypass the API server's admission and validation).
 */
export function encodeKubernetesObject(object: KubernetesObject): Uint8Array {
  const schema = kubernetesSchema();
  const type = schema.kind(object.apiVersion, object.kind);
  if (!type) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  const raw = new ProtoObjectEncoder(schema).encode(type, object);
  const typeMeta = Writer.create().uint32(0x0a).string(object.apiVersion).uint32(0x12).string(object.kind).finish();
  const unknown = Writer.create()
    .uint32(0x0a)
    .bytes(typeMeta)
    .uint32(0x12)
    .bytes(raw)
    .uint32(0x1a)
    .string('')
    .uint32(0x22)
    .string('')
    .finish();
  const out = new Uint8Array(4 + unknown.length);
  out.set([0x6b, 0x38, 0x73, 0x00]);
  out.set(unknown, 4);
  return out;
}

type Json = unknown;

function writeScalar(w: Writer, type: string, value: Json): void {
  switch (type) {
    case 'string':
      w.string(String(value));
      return;
    case 'bytes':
      w.bytes(Buffer.from(String(value), 'base64'));
      return;
    case 'bool':
      w.bool(Boolean(value));
      return;
    case 'double':
      w.double(Number(value));
      return;
    case 'float':
      w.float(Number(value));
      return;
    case 'int64':
      w.int64(Number(value));
      return;
    case 'uint64':
      w.uint64(Number(value));
      return;
    case 'sint64':
      w.sint64(Number(value));
      return;
    case 'uint32':
      w.uint32(Number(value));
      return;
    case 'sint32':
      w.sint32(Number(value));
      return;
    case 'fixed32':
      w.fixed32(Number(value));
      return;
    case 'sfixed32':
      w.sfixed32(Number(value));
      return;
    case 'fixed64':
      w.fixed64(Number(value));
      return;
    case 'sfixed64':
      w.sfixed64(Number(value));
      return;
    default:
      w.int32(Number(value));
  }
}

function timeParts(text: string): [number, number] {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 time: ${text}`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new Error(`not an RFC 3339 time: ${text}`);
  return [Math.floor(ms / 1000), m[2] ? Number(m[2].padEnd(9, '0').slice(0, 9)) : 0];
}

class ProtoObjectEncoder {
  constructor(private readonly schema: KubernetesSchemaIndex) {}

  encode(type: MessageType, value: Json): Uint8Array {
    const w = Writer.create();
    this.write(w, type, value);
    return w.finish();
  }

  private write(w: Writer, type: MessageType, value: Json): void {
    const special = type.descriptor[2];
    if (special) {
      // null (a zero Time in a map) is the empty message Go writes for it.
      if (value !== null) this.writeSpecial(w, type, value);
      return;
    }
    const obj = (value ?? {}) as Record<string, Json>;
    const fields = [...type.descriptor[1]].sort((a, b) => a[0] - b[0]);
    for (const field of fields) {
      const [number, jsonName, fieldType, flags] = field;
      const v = flags & FIELD_INLINE ? obj : obj[jsonName];
      if (v === undefined || v === null) continue;
      if (flags & FIELD_MAP) {
        for (const key of Object.keys(v as object).sort()) {
          w.uint32((number << 3) | 2).fork();
          this.writeField(w, [1, 'key', field[4] ?? 'string', 0], key);
          this.writeField(w, [2, 'value', fieldType, 0], (v as Record<string, Json>)[key]);
          w.ldelim();
        }
      } else if (flags & FIELD_REPEATED) {
        for (const item of v as Json[]) this.writeField(w, field, item);
      } else {
        this.writeField(w, field, v);
      }
    }
  }

  private writeField(w: Writer, field: FieldDescriptor, value: Json): void {
    const [number, , fieldType] = field;
    w.uint32((number << 3) | wireTypeOf(fieldType));
    if (typeof fieldType === 'number') {
      w.fork();
      this.write(w, this.schema.type(fieldType), value);
      w.ldelim();
    } else {
      writeScalar(w, fieldType, value);
    }
  }

  private writeSpecial(w: Writer, type: MessageType, value: Json): void {
    const field = (n: number): FieldDescriptor => {
      const f = type.byNumber.get(n);
      if (!f) throw new Error(`${type.name} has no field ${n}`);
      return f;
    };
    switch (type.descriptor[2]) {
      case 'time':
      case 'microTime': {
        const [seconds, nanos] = timeParts(String(value));
        this.writeField(w, field(1), seconds);
        this.writeField(w, field(2), type.descriptor[2] === 'time' ? 0 : nanos);
        return;
      }
      case 'duration':
        this.writeField(w, field(1), parseGoDuration(String(value)));
        return;
      case 'quantity':
        this.writeField(w, field(1), String(value));
        return;
      case 'intOrString':
        this.writeField(w, field(1), typeof value === 'string' ? 1 : 0);
        this.writeField(w, field(2), typeof value === 'string' ? 0 : value);
        this.writeField(w, field(3), typeof value === 'string' ? value : '');
        return;
      case 'rawJson':
        this.writeField(w, field(1), Buffer.from(JSON.stringify(value)).toString('base64'));
        return;
      case 'schemaOrArray':
      case 'schemaOrStringArray':
        if (Array.isArray(value)) for (const item of value) this.writeField(w, field(2), item);
        else this.writeField(w, field(1), value);
        return;
      case 'schemaOrBool':
        this.writeField(w, field(1), typeof value === 'boolean' ? value : true);
        if (typeof value !== 'boolean') this.writeField(w, field(2), value);
        return;
      case 'list':
        for (const item of value as Json[]) this.writeField(w, type.descriptor[1][0], item);
        return;
    }
  }
}
