import * as vscode from 'vscode';
import { contributes } from '../package.json';

interface SettingSchema {
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
}

/** package.json is the one source of every default and bound; this module only reads it. */
const schema: Record<string, SettingSchema> = contributes.configuration.properties;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('etcd');
}

function declared(name: string): SettingSchema {
  const entry = schema[`etcd.${name}`];
  if (!entry) throw new Error(`etcd.${name} is not a contributed setting`);
  return entry;
}

/** The setting, or its package.json default when unset or of the wrong type. */
function read<T extends string | number | boolean>(name: string): T {
  const fallback = declared(name).default as T;
  const value = config().get<unknown>(name);
  return typeof value === typeof fallback ? (value as T) : fallback;
}

/** A whole number clamped to the setting's package.json minimum and maximum. */
function bounded(name: string): number {
  const { minimum = -Infinity, maximum = Infinity, default: fallback } = declared(name);
  const value = Math.floor(read<number>(name));
  return Math.max(minimum, Math.min(maximum, Number.isFinite(value) ? value : (fallback as number)));
}

/** A string setting; empty means its default. */
function text(name: string): string {
  return read<string>(name) || (declared(name).default as string);
}

/** Typed access to the extension's settings; the only place that reads `etcd.*` configuration. */
export const settings = {
  connectionsRaw(): unknown[] {
    const value = config().get<unknown>('connections');
    return Array.isArray(value) ? value : [];
  },
  async saveConnections(profiles: readonly object[]): Promise<void> {
    await config().update('connections', profiles, vscode.ConfigurationTarget.Global);
  },
  /** Connections (ids or names) opened in the etcd view when the window starts. */
  autoConnect(): string[] {
    const value = vscode.workspace.getConfiguration('etcd').get<unknown>('autoConnect');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0) : [];
  },
  separator(): string {
    return text('keys.separator');
  },
  pageSize(): number {
    return bounded('keys.pageSize');
  },
  /** Folders with at most this many keys below them are kept current by a watch; 0 turns live mode off. */
  liveMaxKeys(): number {
    return read<boolean>('keys.live') ? bounded('keys.liveMaxKeys') : 0;
  },
  /** Largest value sent (etcd's --max-request-bytes); bigger values are refused before sending. */
  maxValueBytes(): number {
    return bounded('values.maxValueBytes');
  },
  /** Events a watch panel keeps in view (older ones are dropped and counted). */
  watchBufferSize(): number {
    return bounded('watch.bufferSize');
  },
  /** Leases with at most this many seconds left are flagged as about to expire. */
  leaseExpiringSeconds(): number {
    return bounded('leases.expiringSeconds');
  },
  /** Operations per Txn (the server's --max-txn-ops): documents over it get a diagnostic, bulk runs split by it. */
  maxTxnOps(): number {
    return bounded('txn.maxOps');
  },
  /** Txn batches in flight at once during bulk put / delete / import. */
  bulkConcurrency(): number {
    return bounded('bulk.concurrency');
  },
  /** Probe interval of the latency panel. */
  latencyIntervalMs(): number {
    return bounded('latency.intervalMs');
  },
  /** Rolling window the latency percentiles are computed over. */
  latencyWindowSeconds(): number {
    return bounded('latency.windowSeconds');
  },
  /** Prefix of the key the Put + Delete probe writes (never on read-only connections). */
  latencyProbePrefix(): string {
    return text('latency.probePrefix');
  },
  /** Scratch prefix of load tests; everything written under it is deleted afterwards. */
  latencyLoadTestPrefix(): string {
    return text('latency.loadTestPrefix');
  },
  /** Seconds between automatic health checks of connected clusters; 0 checks only on demand. */
  healthIntervalSeconds(): number {
    const value = bounded('health.intervalSeconds');
    // A check takes seconds on a large cluster: anything but "off" runs at most every 10 s.
    return value > 0 ? Math.max(10, value) : 0;
  },
  /** Whether the doctor reads values (bounded) to find very large ones. */
  healthScanLargeValues(): boolean {
    return read<boolean>('health.scanLargeValues');
  },
  /** Where kube-apiserver keeps its objects (its --etcd-prefix plus "/"); empty turns Kubernetes labels off. */
  kubernetesRegistryPrefix(): string {
    // Not text(): empty is a meaningful value here.
    return read<string>('kubernetes.registryPrefix');
  },
  onDidChange(section: string, listener: () => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`etcd.${section}`)) listener();
    });
  },
};
