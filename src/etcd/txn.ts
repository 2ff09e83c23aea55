// Contract path: the Txn model moved to src/etcd/txn/txn.ts; other checks import validateTxnSpec from here.
export * from './txn/txn';
