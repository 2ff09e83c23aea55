// Moved to src/etcd/keyspace/; this path stays for existing imports.
export { FolderCache } from './keyspace/folderCache';
export type { FolderCacheOptions, FolderListing } from './keyspace/folderCache';
