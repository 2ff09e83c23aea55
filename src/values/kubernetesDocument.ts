import { stringify } from 'yaml';
import { inspectKubernetesValue, type KubernetesValueInfo } from '../etcd/kubernetes/decode';
import { parseRegistryKey } from '../etcd/kubernetes/registry';
import { displayKey } from '../etcd/keyCodec';
import type { ValueRecord } from '../etcd/values';

export type KubernetesView = 'yaml' | 'json';

/**
 * A value kube-apiserver stored, if it is one: protobuf objects and encrypted values. JSON custom resources
 * are text and stay editable, so they are not "Kubernetes documents" here. Corrupt protobuf throws.
 */
export function kubernetesInfo(value: Uint8Array, key: Buffer): KubernetesValueInfo | undefined {
  const info = inspectKubernetesValue(value, key);
  return info && info.format !== 'json' ? info : undefined;
}

/** "Pod/shop/web" — the document title: kind, namespace (when namespaced) and name. */
export function kubernetesTitle(info: KubernetesValueInfo, key: Buffer, registryPrefix: string): string {
  const fromKey = parseRegistryKey(displayKey(key), registryPrefix);
  if (info.format === 'encrypted') {
    const kind = fromKey?.kind ?? fromKey?.resource ?? 'encrypted';
    return [kind, fromKey?.namespace, fromKey?.name ?? displayKey(key)].filter(Boolean).join('/');
  }
  const meta = info.object.metadata ?? {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : (fromKey?.name ?? displayKey(key));
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined;
  return [info.object.kind, namespace, name].filter(Boolean).join('/');
}

/** The read-only text of a decoded value, with a header saying what it is and how to get the bytes. */
export function renderKubernetesDocument(
  info: KubernetesValueInfo,
  record: ValueRecord,
  key: Buffer,
  view: KubernetesView,
): string {
  const body =
    info.format === 'encrypted'
      ? {
          encrypted: info.encrypted,
          note: 'Encrypted at rest by the API server; etcd Explorer does not decrypt it.',
        }
      : info.object;
  if (view === 'json') return `${JSON.stringify(body, null, 2)}\n`;
  const what =
    info.format === 'encrypted'
      ? `encrypted at rest (provider ${info.encrypted.provider}, key ${info.encrypted.keyName})`
      : `${info.object.apiVersion} ${info.object.kind}, stored as protobuf${info.format === 'protobuf' && info.schemaless ? ' (no schema for this kind: fields by number)' : ''}`;
  const header = [
    `# ${displayKey(key)} — ${what}`,
    `# mod revision ${record.modRevision}, ${record.value.length} bytes. Read-only: writing protobuf objects would bypass the API server.`,
    '# Raw bytes: "etcd: Show Raw Bytes"; JSON: "etcd: Open Kubernetes Object as JSON".',
  ];
  return `${header.join('\n')}\n${stringify(body, { lineWidth: 0 })}`;
}
