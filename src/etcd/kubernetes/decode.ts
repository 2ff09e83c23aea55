import { Reader } from 'protobufjs/minimal';
import { EtcdExplorerError } from '../errors';
import { dumpUnknownMessage, ProtobufDecodeError, ProtoObjectDecoder } from './protoObject';
import { kubernetesSchema } from './schema';

/** A Kubernetes object as `kubectl get -o json` prints it. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A value the API server encrypted at rest (`k8s:enc:<provider>:<version>:<key name>:` + ciphertext). */
export interface EncryptedKubernetesValue {
  encrypted: true;
  /** aescbc, aesgcm, secretbox, kms */
  provider: string;
  /** The envelope format version: v1, or v2 for KMS v2. */
  version: string;
  /** The key (or KMS plugin) name from the encryption configuration. */
  keyName: string;
  /** Bytes of ciphertext after the prefix. */
  ciphertextBytes: number;
}

/** What a value is, with how it was stored. */
export type KubernetesValueInfo =
  | { format: 'protobuf'; object: KubernetesObject; schemaless: boolean; contentType?: string }
  | { format: 'json'; object: KubernetesObject }
  | { format: 'encrypted'; encrypted: EncryptedKubernetesValue };

const PROTOBUF_MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"
const ENCRYPTED_PREFIX = 'k8s:enc:';

function startsWith(value: Uint8Array, prefix: ArrayLike<number>): boolean {
  if (value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix[i]) return false;
  return true;
}

function corrupt(reason: string, detail?: string): EtcdExplorerError {
  return new EtcdExplorerError('invalid', `Corrupt Kubernetes value: ${reason}.`, detail);
}

/**
 * Decodes what kube-apiserver stored in etcd, or returns undefined for a value that is not Kubernetes.
 * - `k8s\0` + runtime.Unknown (built-in kinds in protobuf) → the object shaped like `kubectl get -o json`;
 *   a kind without a schema → apiVersion, kind and a schema-less dump of its fields by number.
 * - JSON with apiVersion and kind (custom resources, CRDs, APIServices) → the object as stored.
 * - `k8s:enc:…` (encryption at rest) → an EncryptedKubernetesValue naming provider and key; never decrypted.
 * Throws an EtcdExplorerError (kind 'invalid') for corrupt or truncated protobuf.
 * `key` is optional and unused for decoding: the envelope says what the value is.
 */
export function decodeKubernetesValue(
  value: Uint8Array,
  key?: Uint8Array,
): KubernetesObject | EncryptedKubernetesValue | undefined {
  const info = inspectKubernetesValue(value, key);
  if (!info) return undefined;
  return info.format === 'encrypted' ? info.encrypted : info.object;
}

/** Like decodeKubernetesValue, with the storage format and whether a schema was found. */
export function inspectKubernetesValue(value: Uint8Array, _key?: Uint8Array): KubernetesValueInfo | undefined {
  if (startsWith(value, PROTOBUF_MAGIC)) return decodeProtobuf(value.subarray(PROTOBUF_MAGIC.length));
  if (startsWith(value, Buffer.from(ENCRYPTED_PREFIX)))
    return { format: 'encrypted', encrypted: parseEncrypted(value) };
  const object = parseJsonObject(value);
  return object ? { format: 'json', object } : undefined;
}

function parseEncrypted(value: Uint8Array): EncryptedKubernetesValue {
  // k8s:enc:<provider>:<version>:<name>: — the name cannot contain ':' (the API server rejects it).
  const head = Buffer.from(value.subarray(0, Math.min(value.length, 512))).toString('latin1');
  const m = /^k8s:enc:([a-z0-9]+):(v\d+):([^:]*):/.exec(head);
  if (!m) {
    throw corrupt('it starts with "k8s:enc:" but has no "<provider>:<version>:<key name>:" header');
  }
  return {
    encrypted: true,
    provider: m[1],
    version: m[2],
    keyName: m[3],
    ciphertextBytes: value.length - Buffer.byteLength(m[0], 'latin1'),
  };
}

function parseJsonObject(value: Uint8Array): KubernetesObject | undefined {
  let i = 0;
  while (i < value.length && (value[i] === 0x20 || value[i] === 0x0a || value[i] === 0x0d || value[i] === 0x09)) i++;
  if (value[i] !== 0x7b /* { */) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || !o.apiVersion || !o.kind) return undefined;
  return o as KubernetesObject;
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** runtime.Unknown: typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4. */
function readEnvelope(bytes: Uint8Array): Envelope {
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  try {
    const reader = Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const wire = tag & 7;
      const n = tag >>> 3;
      if (n >= 1 && n <= 4 && wire !== 2) throw new Error(`envelope field ${n} has wire type ${wire}`);
      if (n === 1) {
        const meta = Reader.create(reader.bytes());
        while (meta.pos < meta.len) {
          const t = meta.uint32();
          if (t === 0x0a) env.apiVersion = meta.string();
          else if (t === 0x12) env.kind = meta.string();
          else meta.skipType(t & 7);
        }
      } else if (n === 2) env.raw = reader.bytes();
      else if (n === 3) env.contentEncoding = reader.string();
      else if (n === 4) env.contentType = reader.string();
      else if (n === 0) throw new Error('field number 0');
      else reader.skipType(wire);
    }
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw corrupt(/index out of range/.test(text) ? 'the envelope is truncated' : 'the envelope does not parse', text);
  }
  if (!env.kind || !env.apiVersion) throw corrupt('the envelope names no apiVersion and kind');
  return env;
}

function decodeProtobuf(bytes: Uint8Array): KubernetesValueInfo {
  const env = readEnvelope(bytes);
  const head = { apiVersion: env.apiVersion, kind: env.kind };
  if (env.contentEncoding) {
    throw new EtcdExplorerError(
      'invalid',
      `This ${env.kind} is stored with content encoding "${env.contentEncoding}", which cannot be shown.`,
    );
  }
  if (env.contentType && /json/i.test(env.contentType)) {
    const object = parseJsonObject(env.raw);
    if (!object) throw corrupt(`the ${env.kind} says it is JSON but does not parse as a JSON object`);
    return { format: 'protobuf', object, schemaless: false, contentType: env.contentType };
  }
  const schema = kubernetesSchema();
  const type = schema.kind(env.apiVersion, env.kind);
  try {
    if (!type) {
      const fields = dumpUnknownMessage(env.raw);
      return { format: 'protobuf', object: { ...head, fields }, schemaless: true };
    }
    const body = new ProtoObjectDecoder(schema).decode(type, env.raw);
    const object = { ...head, ...(body && typeof body === 'object' && !Array.isArray(body) ? body : {}) };
    return { format: 'protobuf', object, schemaless: false };
  } catch (err) {
    if (err instanceof ProtobufDecodeError) {
      const where = err.path ? ` at ${err.path}` : '';
      throw corrupt(`the ${env.apiVersion} ${env.kind} does not decode${where}: ${err.reason}`, err.message);
    }
    const text = err instanceof Error ? err.message : String(err);
    throw corrupt(`the ${env.apiVersion} ${env.kind} does not decode: ${text}`, text);
  }
}
