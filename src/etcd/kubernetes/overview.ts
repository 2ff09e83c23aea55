import type { EtcdConnection } from '../connection';
import { displayKey } from '../keyCodec';
import { prefixSpan } from '../keyspace/counts';
import { RangeReader } from '../keyspace/rangeReader';
import { pinnedPages } from '../transfer';
import { parseRegistryKey } from './registry';

/** How a value under the registry is stored. */
export type StorageFormat = 'protobuf' | 'json' | 'encrypted' | 'other';

export interface ResourceStats {
  /** "pods", "apiregistration.k8s.io/apiservices", "example.com/widgets" */
  resource: string;
  kind?: string;
  objects: number;
  bytes: number;
  byFormat: Record<StorageFormat, number>;
  /** Encryption providers seen ("aescbc:key1" → objects). */
  providers: Record<string, number>;
}

export interface LargeObject {
  key: string;
  resource: string;
  namespace?: string;
  name?: string;
  bytes: number;
  format: StorageFormat;
}

/** What `auger analyze` reports, read live: objects per resource and namespace, sizes, encryption, events. */
export interface KubernetesOverview {
  prefix: string;
  revision: string;
  objects: number;
  bytes: number;
  resources: ResourceStats[];
  namespaces: Array<{ namespace: string; objects: number; bytes: number }>;
  largest: LargeObject[];
  events: { objects: number; bytes: number };
}

export interface OverviewOptions {
  signal?: AbortSignal;
  /** How many of the largest objects to keep. */
  top?: number;
  pageSize?: number;
  /** Called after each page: objects read so far and the total the server counted at the start. */
  onProgress?: (read: number, total: number) => void;
}

export function storageFormat(value: Uint8Array): { format: StorageFormat; provider?: string } {
  const head = Buffer.from(value.subarray(0, 128)).toString('latin1');
  if (head.startsWith('k8s\0')) return { format: 'protobuf' };
  const enc = /^k8s:enc:([a-z0-9]+):v\d+:([^:]*):/.exec(head);
  if (enc) return { format: 'encrypted', provider: `${enc[1]}:${enc[2]}` };
  if (head.startsWith('k8s:enc:')) return { format: 'encrypted', provider: 'unknown' };
  if (/^\s*\{/.test(head)) return { format: 'json' };
  return { format: 'other' };
}

/**
 * Counts the objects under the registry prefix, then reads each once (the scan engine's ordered scan, a page at a
 * time, at the count's revision, keeping only sizes and the first bytes of each value) and aggregates them. Memory
 * stays bounded by the number of resources, namespaces and `top`. Cancel through the signal (the partial read is discarded).
 */
export async function kubernetesOverview(
  conn: EtcdConnection,
  registryPrefix: string,
  options: OverviewOptions = {},
): Promise<KubernetesOverview> {
  const top = options.top ?? 20;
  const span = prefixSpan(conn, Buffer.from(registryPrefix, 'utf8'));
  // One reader: the count pins the revision every page is then read at, so the total is what the pages hold.
  const reader = new RangeReader(conn, { signal: options.signal, operation: `read keys from ${registryPrefix}` });
  const total = await reader.count(span.lo, span.hi);
  const resources = new Map<string, ResourceStats>();
  const namespaces = new Map<string, { namespace: string; objects: number; bytes: number }>();
  const largest: LargeObject[] = [];
  const overview: KubernetesOverview = {
    prefix: registryPrefix,
    revision: reader.revision ?? '',
    objects: 0,
    bytes: 0,
    resources: [],
    namespaces: [],
    largest,
    events: { objects: 0, bytes: 0 },
  };
  options.onProgress?.(0, total);
  const end = span.hi ?? Buffer.from([0]);
  for await (const page of pinnedPages(conn, span.lo, end, options.pageSize ?? 500, options.signal, reader)) {
    overview.revision = page.revision;
    for (const kv of page.kvs) {
      const key = displayKey(conn.relativeKey(kv.key));
      const path = parseRegistryKey(key, registryPrefix);
      const resource = path?.resource ?? '(other)';
      const bytes = kv.value.length;
      const { format, provider } = storageFormat(kv.value);
      let stats = resources.get(resource);
      if (!stats) {
        stats = {
          resource,
          kind: path?.kind,
          objects: 0,
          bytes: 0,
          byFormat: { protobuf: 0, json: 0, encrypted: 0, other: 0 },
          providers: {},
        };
        resources.set(resource, stats);
      }
      stats.objects++;
      stats.bytes += bytes;
      stats.byFormat[format]++;
      if (provider) stats.providers[provider] = (stats.providers[provider] ?? 0) + 1;
      const ns = path?.namespace ?? '(cluster-scoped)';
      const nsStats = namespaces.get(ns) ?? { namespace: ns, objects: 0, bytes: 0 };
      nsStats.objects++;
      nsStats.bytes += bytes;
      namespaces.set(ns, nsStats);
      if (resource === 'events' || resource === 'events.k8s.io/events') {
        overview.events.objects++;
        overview.events.bytes += bytes;
      }
      overview.objects++;
      overview.bytes += bytes;
      if (largest.length < top || bytes > largest[largest.length - 1].bytes) {
        largest.push({ key, resource, namespace: path?.namespace, name: path?.name, bytes, format });
        largest.sort((a, b) => b.bytes - a.bytes);
        if (largest.length > top) largest.pop();
      }
    }
    options.onProgress?.(overview.objects, Math.max(total, overview.objects));
  }
  overview.resources = [...resources.values()].sort(
    (a, b) => b.objects - a.objects || a.resource.localeCompare(b.resource),
  );
  overview.namespaces = [...namespaces.values()].sort(
    (a, b) => b.objects - a.objects || a.namespace.localeCompare(b.namespace),
  );
  return overview;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function percent(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(1)}%` : '0%';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The overview as a Markdown report. */
export function renderKubernetesOverview(o: KubernetesOverview, connectionName: string): string {
  const lines = [
    `# Kubernetes objects in ${cell(connectionName)}`,
    '',
    `Under \`${o.prefix}\` at revision ${o.revision || '(empty)'}: **${o.objects.toLocaleString()} objects**, ${size(o.bytes)}. ` +
      `Events: ${o.events.objects.toLocaleString()} objects (${percent(o.events.objects, o.objects)}), ${size(o.events.bytes)} (${percent(o.events.bytes, o.bytes)} of the bytes).`,
    '',
    '## Objects per resource',
    '',
    '| Resource | Kind | Objects | Bytes | Protobuf | JSON | Encrypted | Other | Providers |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...o.resources.map(
      (r) =>
        `| ${cell(r.resource)} | ${r.kind ?? ''} | ${r.objects.toLocaleString()} | ${size(r.bytes)} | ${r.byFormat.protobuf} | ${r.byFormat.json} | ${r.byFormat.encrypted} | ${r.byFormat.other} | ${cell(
          Object.entries(r.providers)
            .map(([p, n]) => `${p} (${n})`)
            .join(', '),
        )} |`,
    ),
    '',
    '## Objects per namespace',
    '',
    '| Namespace | Objects | Bytes |',
    '|---|---:|---:|',
    ...o.namespaces.map((n) => `| ${cell(n.namespace)} | ${n.objects.toLocaleString()} | ${size(n.bytes)} |`),
    '',
    `## Largest objects (top ${o.largest.length})`,
    '',
    '| Key | Resource | Bytes | Stored as |',
    '|---|---|---:|---|',
    ...o.largest.map((l) => `| \`${cell(l.key)}\` | ${cell(l.resource)} | ${size(l.bytes)} | ${l.format} |`),
    '',
  ];
  return lines.join('\n');
}
