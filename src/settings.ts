import * as vscode from 'vscode';

/** Typed access to the extension's settings; the only place that reads `etcd.*` configuration. */
export const settings = {
  connectionsRaw(): unknown[] {
    return vscode.workspace.getConfiguration('etcd').get<unknown[]>('connections', []);
  },
  async saveConnections(profiles: readonly object[]): Promise<void> {
    await vscode.workspace
      .getConfiguration('etcd')
      .update('connections', profiles, vscode.ConfigurationTarget.Global);
  },
  /** Connections (ids or names) opened in the etcd view when the window starts. */
  autoConnect(): string[] {
    const value = vscode.workspace.getConfiguration('etcd').get<unknown>('autoConnect');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0) : [];
  },
  separator(): string {
    return vscode.workspace.getConfiguration('etcd').get<string>('keys.separator', '/') || '/';
  },
  pageSize(): number {
    const value = vscode.workspace.getConfiguration('etcd').get<number>('keys.pageSize', 500);
    return Math.max(10, Math.min(10_000, Math.floor(value)));
  },
  /** Folders with at most this many keys below them are kept current by a watch; 0 turns live mode off. */
  liveMaxKeys(): number {
    const config = vscode.workspace.getConfiguration('etcd');
    if (!config.get<boolean>('keys.live', true)) return 0;
    return Math.max(0, Math.floor(config.get<number>('keys.liveMaxKeys', 10_000)));
  },
  /** Largest value sent (etcd's --max-request-bytes); bigger values are refused before sending. */
  maxValueBytes(): number {
    return Math.max(1024, vscode.workspace.getConfiguration('etcd').get<number>('values.maxValueBytes', 1572864));
  },
  /** Events a watch panel keeps in view (older ones are dropped and counted). */
  watchBufferSize(): number {
    return Math.max(100, Math.min(1_000_000, Math.floor(vscode.workspace.getConfiguration('etcd').get<number>('watch.bufferSize', 10_000))));
  },
  /** Leases with at most this many seconds left are flagged as about to expire. */
  leaseExpiringSeconds(): number {
    return Math.max(0, vscode.workspace.getConfiguration('etcd').get<number>('leases.expiringSeconds', 10));
  },
  /** Operations per Txn (the server's --max-txn-ops, 128 by default): documents over it get a diagnostic, bulk runs split by it. */
  maxTxnOps(): number {
    return Math.max(1, Math.min(100_000, Math.floor(vscode.workspace.getConfiguration('etcd').get<number>('txn.maxOps', 128))));
  },
  /** Txn batches in flight at once during bulk put / delete / import. */
  bulkConcurrency(): number {
    return Math.max(1, Math.min(64, Math.floor(vscode.workspace.getConfiguration('etcd').get<number>('bulk.concurrency', 16))));
  },
  /** Probe interval of the latency panel. */
  latencyIntervalMs(): number {
    return Math.max(200, Math.min(60_000, Math.floor(vscode.workspace.getConfiguration('etcd').get<number>('latency.intervalMs', 1000))));
  },
  /** Rolling window the latency percentiles are computed over. */
  latencyWindowSeconds(): number {
    return Math.max(5, Math.min(3600, Math.floor(vscode.workspace.getConfiguration('etcd').get<number>('latency.windowSeconds', 60))));
  },
  /** Prefix of the key the Put + Delete probe writes (never on read-only connections). */
  latencyProbePrefix(): string {
    return vscode.workspace.getConfiguration('etcd').get<string>('latency.probePrefix', '/__etcd-explorer/probe/') || '/__etcd-explorer/probe/';
  },
  /** Scratch prefix of load tests; everything written under it is deleted afterwards. */
  latencyLoadTestPrefix(): string {
    return vscode.workspace.getConfiguration('etcd').get<string>('latency.loadTestPrefix', '/__etcd-explorer/loadtest/') || '/__etcd-explorer/loadtest/';
  },
  /** Seconds between automatic health checks of connected clusters; 0 checks only on demand. */
  healthIntervalSeconds(): number {
    const value = vscode.workspace.getConfiguration('etcd').get<number>('health.intervalSeconds', 60);
    return value > 0 ? Math.max(10, Math.floor(value)) : 0;
  },
  /** Whether the doctor reads values (bounded) to find very large ones. */
  healthScanLargeValues(): boolean {
    return vscode.workspace.getConfiguration('etcd').get<boolean>('health.scanLargeValues', true);
  },
  /** Where kube-apiserver keeps its objects (its --etcd-prefix plus "/"); empty turns Kubernetes labels off. */
  kubernetesRegistryPrefix(): string {
    return vscode.workspace.getConfiguration('etcd').get<string>('kubernetes.registryPrefix', '/registry/');
  },
  onDidChange(section: string, listener: () => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`etcd.${section}`)) listener();
    });
  },
};
