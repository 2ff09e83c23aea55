/**
 * Turns the upstream Kubernetes API definitions into the compact descriptor the core decoder reads
 * (src/etcd/kubernetes/schema/kubernetes.json). Regenerate with `npm run k8s:schema` (see regenerate.sh).
 *
 *   node out/scripts/kubernetes/generateSchema.js <sources-dir> [<output.json>]
 *
 * <sources-dir> is what gatherSources.sh writes: <module>/<package>/generated.proto plus the package's Go files,
 * and SOURCES.txt (repository, commit, tag per package). Two inputs, two jobs:
 * - generated.proto decides the wire: field numbers, scalar kinds, repeated, maps, message types.
 * - the Go struct tags decide the JSON shape the API server (and kubectl) prints: the JSON name (which is not
 *   always the proto name: apiextensions' `$ref`, `$schema`, `x-kubernetes-*`), omitempty, pointer fields
 *   (a pointer that is set prints even when zero: `replicas: 0`), and inlined structs (a Volume's
 *   `volumeSource` is spread into the Volume in JSON).
 * Types whose JSON is written by hand in Go (Time, Quantity, IntOrString, ...) are named in SPECIAL below; the
 * decoder implements their MarshalJSON. Go slice types wrapped in a message (`type ExtraValue []string` ⇒
 * `message ExtraValue { repeated string items = 1; }`) are detected and printed as arrays.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import {
  FIELD_INLINE,
  FIELD_MAP,
  FIELD_OMITEMPTY,
  FIELD_POINTER,
  FIELD_REPEATED,
  type FieldDescriptor,
  type KubernetesSchema,
  type MessageDescriptor,
  type SpecialKind,
} from '../../src/etcd/kubernetes/schemaTypes';

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const EXT = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions';

/** Messages whose JSON form Go writes by hand (MarshalJSON), by full proto name. */
const SPECIAL: Record<string, SpecialKind> = {
  [`${META}.Time`]: 'time',
  [`${META}.MicroTime`]: 'microTime',
  [`${META}.Duration`]: 'duration',
  [`${META}.FieldsV1`]: 'rawJson',
  'k8s.io.apimachinery.pkg.api.resource.Quantity': 'quantity',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'intOrString',
  'k8s.io.apimachinery.pkg.runtime.RawExtension': 'rawJson',
  [`${EXT}.v1.JSON`]: 'rawJson',
  [`${EXT}.v1beta1.JSON`]: 'rawJson',
  [`${EXT}.v1.JSONSchemaPropsOrArray`]: 'schemaOrArray',
  [`${EXT}.v1beta1.JSONSchemaPropsOrArray`]: 'schemaOrArray',
  [`${EXT}.v1.JSONSchemaPropsOrBool`]: 'schemaOrBool',
  [`${EXT}.v1beta1.JSONSchemaPropsOrBool`]: 'schemaOrBool',
  [`${EXT}.v1.JSONSchemaPropsOrStringArray`]: 'schemaOrStringArray',
  [`${EXT}.v1beta1.JSONSchemaPropsOrStringArray`]: 'schemaOrStringArray',
};

/** API group of each package whose doc.go has no `+groupName=` (core's is empty: apiVersion "v1"). */
const GROUP_FALLBACK: Record<string, string> = {
  'k8s.io/api/core': '',
  'k8s.io/api/extensions': 'extensions',
};

/** Packages only referenced by others (no kinds of their own in etcd). */
const LIBRARY_PACKAGES = ['k8s.io/apimachinery/'];

interface GoField {
  jsonName: string;
  omitempty: boolean;
  pointer: boolean;
  inline: boolean;
  order: number;
}

/** Go struct fields by proto field number, per type name, from every Go file of one package. */
function readGoTypes(dir: string): { structs: Map<string, Map<number, GoField>>; slices: Set<string> } {
  const structs = new Map<string, Map<number, GoField>>();
  const slices = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.go'))) {
    const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n');
    let current: Map<number, GoField> | undefined;
    for (const line of lines) {
      const start = /^type (\w+) struct \{/.exec(line);
      if (start) {
        current = new Map();
        structs.set(start[1], current);
        continue;
      }
      const slice = /^type (\w+) \[\]/.exec(line);
      if (slice) slices.add(slice[1]);
      if (!current) continue;
      if (line.startsWith('}')) {
        current = undefined;
        continue;
      }
      const field = /^\s*([^`/]+?)\s*`([^`]*)`/.exec(line);
      if (!field) continue;
      const proto = /protobuf:"[a-z0-9]+,(\d+),/.exec(field[2]);
      if (!proto) continue;
      const tokens = field[1].trim().split(/\s+/);
      const embedded = tokens.length === 1;
      const goType = embedded ? tokens[0] : tokens.slice(1).join(' ');
      const json = /json:"([^"]*)"/.exec(field[2]);
      const [jsonName, ...options] = (json ? json[1] : '').split(',');
      current.set(Number(proto[1]), {
        jsonName: jsonName || (embedded ? '' : tokens[0]),
        omitempty: options.includes('omitempty'),
        pointer: goType.startsWith('*'),
        inline: options.includes('inline') || (embedded && !jsonName),
        order: current.size,
      });
    }
  }
  return { structs, slices };
}

function groupName(module: string, pkg: string, dir: string): string {
  const read = (f: string): string =>
    fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '';
  const m = /GroupName\s*=\s*"([\w.-]*)"/.exec(read('register.go')) ?? /\+groupName=([\w.-]*)/.exec(read('doc.go'));
  if (m) return m[1];
  const key = `${module}/${pkg.split('/').slice(0, -1).join('/')}`;
  if (key in GROUP_FALLBACK) return GROUP_FALLBACK[key];
  throw new Error(`no group name in ${dir}: add ${key} to GROUP_FALLBACK`);
}

interface FieldInfo {
  number: number;
  jsonName: string;
  scalar?: string;
  typeName?: string;
  flags: number;
  keyType?: string;
  /** Go declaration order (the order kubectl prints); fields without a Go tag go last. */
  order: number;
}

interface MessageInfo {
  fields: FieldInfo[];
  special?: SpecialKind;
}

function readSources(dir: string): string[][] {
  return fs
    .readFileSync(path.join(dir, 'SOURCES.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '));
}

function byVersionDescending(a: string, b: string): number {
  return Number(b.split('.')[1]) - Number(a.split('.')[1]);
}

/** Every message of the packages in `lines` (protos under `dir`, imports falling back to `fallback`). */
function describe(
  dir: string,
  fallback: string,
  lines: string[][],
  renamed: string[],
  unmatched: string[],
): Map<string, MessageInfo> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    fs.existsSync(path.join(dir, target)) ? path.join(dir, target) : path.join(fallback, target);
  const protoFiles = lines.map(([pkgPath]) => path.join(pkgPath, 'generated.proto'));
  root.loadSync(
    protoFiles.filter((f) => fs.existsSync(path.join(dir, f))),
    { keepCase: true },
  );
  root.resolveAll();

  const messages: protobuf.Type[] = [];
  const collect = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) messages.push(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) collect(child);
    }
  };
  collect(root);
  const fullName = (t: protobuf.ReflectionObject): string => t.fullName.replace(/^\./, '');

  const goByPackage = new Map<string, ReturnType<typeof readGoTypes> | undefined>();
  const goTypes = (protoPackage: string): ReturnType<typeof readGoTypes> | undefined => {
    if (!goByPackage.has(protoPackage)) {
      const line = lines.find(([p]) => p.replace(/[/]/g, '.').replace(/-/g, '_') === protoPackage);
      goByPackage.set(protoPackage, line ? readGoTypes(path.join(dir, line[0])) : undefined);
    }
    return goByPackage.get(protoPackage);
  };

  const out = new Map<string, MessageInfo>();
  for (const type of messages) {
    const name = fullName(type);
    const pkg = name.slice(0, name.lastIndexOf('.'));
    const go = goTypes(pkg);
    if (!go) continue; // an import from the fallback tree: described by its own pass
    const goFields = go.structs.get(type.name);
    let special: SpecialKind | undefined = SPECIAL[name];
    if (!special && go.slices.has(type.name) && type.fieldsArray.length === 1 && type.fieldsArray[0].repeated) {
      special = 'list';
    }
    const fields = type.fieldsArray.map((field): FieldInfo => {
      const g = goFields?.get(field.id);
      if (!g && !special) unmatched.push(`${name}.${field.name}`);
      const jsonName = g ? g.jsonName : field.name;
      if (g && jsonName !== field.name && !g.inline) renamed.push(`${name}.${field.name} → ${jsonName}`);
      let flags = 0;
      if (field.repeated) flags |= FIELD_REPEATED;
      if (field instanceof protobuf.MapField) flags |= FIELD_MAP;
      if (g ? g.omitempty : true) flags |= FIELD_OMITEMPTY;
      if (g?.pointer) flags |= FIELD_POINTER;
      if (g?.inline) flags |= FIELD_INLINE;
      return {
        number: field.id,
        jsonName,
        ...(field.resolvedType ? { typeName: fullName(field.resolvedType) } : { scalar: field.type }),
        flags,
        ...(field instanceof protobuf.MapField ? { keyType: field.keyType } : {}),
        order: g ? g.order : 1000 + field.id,
      };
    });
    out.set(name, special ? { fields, special } : { fields });
  }
  return out;
}

function main(): void {
  const [sources, output = 'src/etcd/kubernetes/schema/kubernetes.json'] = process.argv.slice(2);
  if (!sources) throw new Error('usage: generateSchema <sources-dir> [<output.json>]');
  const sourceLines = readSources(sources);

  const renamed: string[] = [];
  const unmatched: string[] = [];
  // HEAD first; then older releases add the messages and field numbers HEAD no longer has (field numbers
  // are never reused in the Kubernetes API, so the union reads objects any of those releases wrote).
  const merged = describe(sources, sources, sourceLines, renamed, unmatched);
  const olderDir = path.join(sources, 'older');
  const older = fs.existsSync(olderDir) ? fs.readdirSync(olderDir).sort(byVersionDescending) : [];
  let addedMessages = 0;
  let addedFields = 0;
  for (const tag of older) {
    const dir = path.join(olderDir, tag);
    const lines = readSources(dir);
    for (const [name, message] of describe(dir, sources, lines, [], [])) {
      const current = merged.get(name);
      if (!current) {
        merged.set(name, message);
        addedMessages++;
        continue;
      }
      for (const field of message.fields) {
        if (!current.fields.some((f) => f.number === field.number)) {
          current.fields.push({ ...field, order: 1000 + field.number });
          addedFields++;
        }
      }
    }
  }
  console.log(`older releases (${older.join(', ') || 'none'}) added ${addedMessages} messages, ${addedFields} fields`);

  const names = [...merged.keys()].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const descriptors: MessageDescriptor[] = names.map((name) => {
    const message = merged.get(name)!;
    const fields = [...message.fields].sort((a, b) => a.order - b.order);
    const plain = fields.map((f): FieldDescriptor => {
      const typeRef = f.scalar ?? index.get(f.typeName!);
      if (typeRef === undefined) throw new Error(`unresolved type ${f.typeName} in ${name}`);
      return f.keyType ? [f.number, f.jsonName, typeRef, f.flags, f.keyType] : [f.number, f.jsonName, typeRef, f.flags];
    });
    return message.special ? [name, plain, message.special] : [name, plain];
  });

  const groups: Record<string, string> = {};
  for (const [pkgPath] of sourceLines) {
    const [host, repo, ...rest] = pkgPath.split('/');
    const module = `${host}/${repo}`;
    if (LIBRARY_PACKAGES.some((p) => pkgPath.startsWith(p))) continue;
    const dir = path.join(sources, pkgPath);
    if (!fs.existsSync(path.join(dir, 'generated.proto'))) continue;
    const group = groupName(module, rest.join('/'), dir);
    const version = rest[rest.length - 1];
    groups[group ? `${group}/${version}` : version] = pkgPath.replace(/[/]/g, '.').replace(/-/g, '_');
  }

  const schema: KubernetesSchema = {
    about:
      'Generated by scripts/kubernetes/generateSchema.ts from the Kubernetes API .proto definitions and Go ' +
      'types listed in "upstream". Do not edit by hand; regenerate with npm run k8s:schema.',
    license:
      'Derived from Kubernetes API definitions, Copyright The Kubernetes Authors, licensed under the Apache ' +
      'License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). Distributed on an "AS IS" BASIS, ' +
      'WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND.',
    upstream: sourceLines.map(([pkgPath, commit, ref]) => `${pkgPath} ${ref} ${commit}`),
    groups,
    messages: descriptors,
  };
  fs.mkdirSync(path.dirname(output), { recursive: true });
  fs.writeFileSync(output, JSON.stringify(schema) + '\n');
  console.log(
    `${descriptors.length} messages, ${Object.keys(groups).length} group versions, ` +
      `${fs.statSync(output).size} bytes → ${output}`,
  );
  console.log(`${renamed.length} fields whose JSON name differs from the proto name, e.g.:`);
  for (const r of [...new Set(renamed.map((r) => r.replace(/^.*\.(\w+\.\w+ →)/, '$1')))].slice(0, 40)) {
    console.log(`  ${r}`);
  }
  if (unmatched.length)
    console.log(
      `${unmatched.length} proto fields without a Go tag (proto name used), e.g. ${unmatched.slice(0, 5).join(', ')}`,
    );
}

main();
