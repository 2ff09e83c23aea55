import * as vscode from 'vscode';
import { ExtensionApi } from './api';
import { autoConnect } from './connections/autoConnect';
import { registerCommand } from './host/commandRegistrar';
import { prompts } from './host/prompts';
import { ConnectionCommands } from './connections/connectionCommands';
import { ConnectionManager } from './connections/connectionManager';
import { SecretStore } from './connections/secretStore';
import { ConnectionStatusBar } from './connections/statusBar';
import { KeyCommands } from './keys/keyCommands';
import { KeyTreeProvider } from './keys/keyTreeProvider';
import { createLogChannel } from './util/log';
import { EtcdFileSystem } from './values/etcdFileSystem';
import { ValueCommands } from './values/valueCommands';
import { WatchCommands } from './watch/watchCommands';
import { LeaseCommands } from './leases/leaseCommands';
import { LeaseTreeProvider } from './leases/leaseTreeProvider';
import { ClusterCommands } from './cluster/clusterCommands';
import { ClusterTreeProvider } from './cluster/clusterTreeProvider';
import { HealthService } from './health/healthService';
import { HealthTreeProvider } from './health/healthTreeProvider';
import { HealthCommands } from './health/healthCommands';
import { ReadOnlyDocuments } from './util/readOnlyDocuments';
import { TxnDocuments } from './txn/txnDocuments';
import { TxnCommands } from './txn/txnCommands';
import { BulkCommands } from './bulk/bulkCommands';
import { LatencyCommands } from './latency/latencyCommands';
import { TxnCompletionProvider } from './txn/txnCompletion';
import { KubernetesCommands } from './kubernetes/kubernetesCommands';

let manager: ConnectionManager | undefined;

/** Wiring only: build the services, register providers and commands. */
export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const { channel, logger } = createLogChannel();
  manager = new ConnectionManager(new SecretStore(context.secrets), logger);
  const keyTree = new KeyTreeProvider(manager);
  const view = vscode.window.createTreeView('etcd.connections', {
    treeDataProvider: keyTree,
    showCollapseAll: true,
    canSelectMany: true,
  });
  const fileSystem = new EtcdFileSystem(manager);
  const values = new ValueCommands(manager, keyTree);
  const panels = { extensionUri: context.extensionUri, log: logger, memento: context.workspaceState };
  const watches = new WatchCommands(panels, manager);
  const leaseTree = new LeaseTreeProvider(manager);
  const leaseView = vscode.window.createTreeView('etcd.leases', { treeDataProvider: leaseTree });
  leaseView.onDidChangeVisibility((e) => leaseTree.setVisible(e.visible));
  const leases = new LeaseCommands(manager, leaseTree, keyTree, leaseView);
  const clusterTree = new ClusterTreeProvider(manager);
  const clusterView = vscode.window.createTreeView('etcd.cluster', { treeDataProvider: clusterTree });
  clusterView.onDidChangeVisibility((e) => clusterTree.setVisible(e.visible));
  const health = new HealthService(manager);
  const healthTree = new HealthTreeProvider(manager, health);
  const reports = new ReadOnlyDocuments('etcd-report');
  const healthCommands = new HealthCommands(manager, health, reports);
  const txnDocuments = new TxnDocuments(manager, reports);
  const txnCommands = new TxnCommands(manager, keyTree, txnDocuments);
  const bulk = new BulkCommands(manager, keyTree, reports, context.globalState);
  const latency = new LatencyCommands(panels, manager);
  const kubernetes = new KubernetesCommands(manager, reports);
  context.subscriptions.push(
    channel,
    manager,
    keyTree,
    view,
    new ConnectionStatusBar(manager),
    new ConnectionCommands(manager),
    new KeyCommands(manager, keyTree, view),
    fileSystem,
    values,
    watches,
    leaseTree,
    leaseView,
    leases,
    clusterTree,
    clusterView,
    new ClusterCommands(manager, clusterTree),
    health,
    healthTree,
    vscode.window.createTreeView('etcd.health', { treeDataProvider: healthTree }),
    healthCommands,
    reports,
    txnDocuments,
    txnCommands,
    bulk,
    latency,
    kubernetes,
    TxnCompletionProvider.register(),
    registerCommand('etcd.showLog', () => channel.show()),
  );
  logger.info(`[extension] etcd Explorer ${context.extension.packageJSON.version} activated`);
  void autoConnect(manager, keyTree, view, logger);
  return {
    connections: manager,
    keyTree,
    fileSystem,
    values,
    watches,
    leaseTree,
    leases,
    clusterTree,
    health,
    healthTree,
    healthCommands,
    reports,
    txnDocuments,
    txnCommands,
    bulk,
    latency,
    kubernetes,
    prompts,
  };
}

/** Watchers are cancelled before clients close, so nothing keeps the extension host alive. */
export async function deactivate(): Promise<void> {
  await manager?.closeAll();
  manager = undefined;
}
