// The keyspace code lives in src/etcd/keyspace/; this path stays for the core's public contract.
export { listChildren } from './keyspace/listChildren';
export type { ChildrenPage, KeyMeta, KeyspaceChild, ListOptions } from './keyspace/listChildren';
