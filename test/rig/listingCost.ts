import type { ChildrenPage } from '../../src/etcd/keyspace/listChildren';

/**
 * What a listing cost, in keys visited: a request counted as 50 and a key returned as 15 (what they cost on
 * loopback against ~0.4 µs a key visited). Kept apart from the listing's own budget so a test checks it from outside.
 */
export function listingCost(page: Pick<ChildrenPage, 'visited' | 'queries' | 'returned'>): number {
  return page.visited + 50 * page.queries + 15 * page.returned;
}

/** One keys-only read of a folder of `keys` keys in the same unit: every key visited and returned, one request. */
export function keysOnlyReadCost(keys: number): number {
  return 16 * keys + 50;
}
