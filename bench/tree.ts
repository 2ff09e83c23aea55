/**
 * `npm run bench:tree` — folder listing cost on 1,000,000 keys shaped 10 × 100 × 1000 plus a flat folder of
 * 100,000 direct children, against one local etcd, in one run:
 *   ours      listChildren (cold), the tree's listing
 *   baseline  one full keys-only range of the subtree (what etcdkeeper does per click)
 *   floor     one count_only range over the subtree (the least the server can do on etcd ≤ 3.6)
 * Server work is counted deterministically as visits = Σ `count` of every range response ÷ keys under the folder.
 */
import { EtcdConnection } from '../src/etcd/connection';
import { FolderCache } from '../src/etcd/folderCache';
import { prefixEnd } from '../src/etcd/keyCodec';
import { listChildren } from '../src/etcd/keyspace';
import { silentLogger } from '../src/etcd/logger';
import { EtcdCluster } from '../test/rig/etcd';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

async function seed(conn: EtcdConnection): Promise<number> {
  const value = Buffer.from('v');
  const keys: Buffer[] = [];
  for (let a = 0; a < 10; a++) for (let s = 0; s < 100; s++) for (let k = 0; k < 1000; k++) keys.push(Buffer.from(`/bench/a${a}/s${s}/k${k}`));
  for (let i = 0; i < 100_000; i++) keys.push(Buffer.from(`/flat/item-${i}`));
  const batches: Buffer[][] = [];
  for (let i = 0; i < keys.length; i += 128) batches.push(keys.slice(i, i + 128));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        await conn.write('seed', (c) =>
          c.kv.txn({ compare: [], success: batch.map((key) => ({ request_put: { key, value } })), failure: [] }),
        );
      }
    }),
  );
  console.log(`seeded ${keys.length} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return keys.length;
}

async function main(): Promise<void> {
  // BENCH_ENDPOINT reuses an already seeded etcd (for iterating on the algorithm).
  const reuse = process.env.BENCH_ENDPOINT;
  const cluster = reuse ? undefined : await EtcdCluster.start({ quotaBackendBytes: 4 * 1024 ** 3 });
  const endpoints = reuse ? [reuse] : cluster!.endpoints;
  const conn = new EtcdConnection({ id: 'bench', name: 'bench', endpoints, timeoutMs: 60_000 }, {}, silentLogger, {
    maxReceiveBytes: 512 * 1024 * 1024,
  });
  try {
    const keys = reuse ? 1_100_000 : await seed(conn);
    const l1 = Buffer.from('/bench/');
    const l2 = Buffer.from('/bench/a3/');
    const flat = Buffer.from('/flat/');
    const opts = { separator: '/', pageSize: 500 };

    const fullRange = (p: Buffer) => conn.call('baseline', (c) => c.kv.range({ key: p, range_end: prefixEnd(p), keys_only: true }));
    const countOnly = (p: Buffer) => conn.call('floor', (c) => c.kv.range({ key: p, range_end: prefixEnd(p), count_only: true }));

    // Warm the server's caches once so run order does not favour anyone.
    await countOnly(l1);

    const ours1: number[] = [];
    const base1: number[] = [];
    const floor1: number[] = [];
    const ours2: number[] = [];
    const flatMs: number[] = [];
    let page1 = await listChildren(conn, l1, opts);
    let page2 = await listChildren(conn, l2, opts);
    for (let i = 0; i < RUNS; i++) {
      const o = await timed(() => listChildren(conn, l1, opts));
      ours1.push(o.ms);
      page1 = o.value;
      base1.push((await timed(() => fullRange(l1))).ms);
      floor1.push((await timed(() => countOnly(l1))).ms);
      const o2 = await timed(() => listChildren(conn, l2, opts));
      ours2.push(o2.ms);
      page2 = o2.value;
      flatMs.push((await timed(() => listChildren(conn, flat, opts))).ms);
    }
    const children1 = page1.children.map((c) => c.name.toString());
    const children2 = page2.children.length;
    if (children1.length !== 10 || children2 !== 100) throw new Error(`wrong listing: ${children1.length} / ${children2}`);
    const flatPage = await listChildren(conn, flat, opts);
    if (flatPage.children.length !== 500 || !flatPage.next) throw new Error('flat folder did not page');

    // Re-expanding through the tree's cache costs no query.
    const cache = new FolderCache(conn, { separator: '/', pageSize: 500 });
    await cache.list(l1);
    const before = cache.queries;
    await cache.list(l1);
    const cachedQueries = cache.queries - before;
    cache.dispose();

    const ours = median(ours1);
    const baseline = median(base1);
    const floor = median(floor1);
    const keysL1 = page1.totalKeys ?? 1_000_000;
    const keysL2 = page2.totalKeys ?? 100_000;
    console.log(`level 1: ours ${ours1.map((x) => x.toFixed(0)).join('/')} ms, baseline ${base1.map((x) => x.toFixed(0)).join('/')} ms, floor ${floor1.map((x) => x.toFixed(0)).join('/')} ms`);
    console.log(`level 2: ours ${ours2.map((x) => x.toFixed(0)).join('/')} ms; flat page ${flatMs.map((x) => x.toFixed(0)).join('/')} ms`);
    console.log(
      `RESULT tree keys=${keys} first_level_ms=${ours.toFixed(1)} baseline_ms=${baseline.toFixed(1)} floor_ms=${floor.toFixed(1)} ` +
        `vs_baseline=${(baseline / ours).toFixed(1)} visits_l1=${(page1.visited / keysL1).toFixed(2)} visits_l2=${(page2.visited / keysL2).toFixed(2)} ` +
        `queries_l1=${page1.queries} queries_l2=${page2.queries} second_level_ms=${median(ours2).toFixed(1)} flat_page_ms=${median(flatMs).toFixed(1)} ` +
        `cached_queries=${cachedQueries}`,
    );
  } finally {
    await conn.close();
    await cluster?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
