import { ConnectionManager } from './connections/connectionManager';
import { KeyTreeProvider } from './keys/keyTreeProvider';
import { EtcdFileSystem } from './values/etcdFileSystem';
import { ValueCommands } from './values/valueCommands';
import { WatchCommands } from './watch/watchCommands';
import { LeaseCommands } from './leases/leaseCommands';
import { LeaseTreeProvider } from './leases/leaseTreeProvider';
import { ClusterTreeProvider } from './cluster/clusterTreeProvider';
import { HealthService } from './health/healthService';
import { HealthCommands } from './health/healthCommands';
import { HealthTreeProvider } from './health/healthTreeProvider';
import { ReadOnlyDocuments } from './util/readOnlyDocuments';
import { TxnDocuments } from './txn/txnDocuments';
import { TxnCommands } from './txn/txnCommands';
import { BulkCommands } from './bulk/bulkCommands';
import { LatencyCommands } from './latency/latencyCommands';
import { KubernetesCommands } from './kubernetes/kubernetesCommands';
import { Prompts } from './host/prompts';

/** What `activate` returns: used by the extension-host tests (and other extensions) to reach the services. */
export interface ExtensionApi {
  readonly connections: ConnectionManager;
  readonly keyTree: KeyTreeProvider;
  readonly fileSystem: EtcdFileSystem;
  readonly values: ValueCommands;
  readonly watches: WatchCommands;
  readonly leaseTree: LeaseTreeProvider;
  readonly leases: LeaseCommands;
  readonly clusterTree: ClusterTreeProvider;
  readonly health: HealthService;
  readonly healthTree: HealthTreeProvider;
  readonly healthCommands: HealthCommands;
  readonly reports: ReadOnlyDocuments;
  readonly txnDocuments: TxnDocuments;
  readonly txnCommands: TxnCommands;
  readonly bulk: BulkCommands;
  readonly latency: LatencyCommands;
  readonly kubernetes: KubernetesCommands;
  /** The prompts seam: tests answer dialogs through `prompts.swap`. */
  readonly prompts: Prompts;
}
