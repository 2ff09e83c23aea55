import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FieldDescriptor, KubernetesSchema, MessageDescriptor } from './schemaTypes';

/** One message type of the descriptor, with its fields indexed by number for decoding. */
export interface MessageType {
  readonly index: number;
  readonly name: string;
  readonly descriptor: MessageDescriptor;
  readonly byNumber: ReadonlyMap<number, FieldDescriptor>;
}

/** The generated descriptor, loaded on first use and indexed for lookups. */
export class KubernetesSchemaIndex {
  private readonly types: MessageType[];
  private readonly byName: Map<string, MessageType>;

  constructor(readonly schema: KubernetesSchema) {
    this.types = schema.messages.map((descriptor, index) => ({
      index,
      name: descriptor[0],
      descriptor,
      byNumber: new Map(descriptor[1].map((f) => [f[0], f])),
    }));
    this.byName = new Map(this.types.map((t) => [t.name, t]));
  }

  type(index: number): MessageType {
    return this.types[index];
  }

  typeByName(fullName: string): MessageType | undefined {
    return this.byName.get(fullName);
  }

  /** The message of a kind, e.g. ("apps/v1", "Deployment") → k8s.io.api.apps.v1.Deployment. */
  kind(apiVersion: string, kind: string): MessageType | undefined {
    const pkg = this.schema.groups[apiVersion];
    if (pkg === undefined) return undefined;
    // Status, DeleteOptions and the other meta/v1 kinds are registered in every group version.
    return this.byName.get(`${pkg}.${kind}`) ?? this.byName.get(`${META_PACKAGE}.${kind}`);
  }

  /** The apiVersions the descriptor knows ("v1", "apps/v1", ...). */
  apiVersions(): string[] {
    return Object.keys(this.schema.groups);
  }
}

const META_PACKAGE = 'k8s.io.apimachinery.pkg.apis.meta.v1';

let loaded: KubernetesSchemaIndex | undefined;

/**
 * Where the descriptor is: beside the bundle (dist/kubernetes-schema.json, copied by esbuild.mjs) or beside
 * this module when running from tsc output (out/src/etcd/kubernetes/schema/kubernetes.json).
 */
const SCHEMA_FILES = [
  path.join(__dirname, 'kubernetes-schema.json'),
  path.join(__dirname, 'schema', 'kubernetes.json'),
];

/**
 * The descriptor, read from its own file on the first Kubernetes value rather than at activation: it is
 * ~230 KB of JSON that most sessions never need, and inside the bundle V8 would have to scan it at every load.
 */
export function kubernetesSchema(): KubernetesSchemaIndex {
  if (!loaded) {
    const file = SCHEMA_FILES.find((f) => fs.existsSync(f));
    if (!file) throw new Error(`The Kubernetes descriptor is missing (looked for ${SCHEMA_FILES.join(', ')}).`);
    loaded = new KubernetesSchemaIndex(JSON.parse(fs.readFileSync(file, 'utf8')) as KubernetesSchema);
  }
  return loaded;
}
