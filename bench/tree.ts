/**
 * `npm run bench:tree` — cold folder listings (page 500) on seeded keyspaces of about a million keys each, one
 * fresh etcd per shape (see treeShapes.ts). For each shape and level it prints:
 *   ours       listChildren (cold), the tree's listing
 *   keys_read  one keys-only range of the whole folder (what a naive tree does per click)
 *   floor      one count_only range of the folder (the least the server can do on etcd ≤ 3.6)
 *   visits     Σ count of our range answers ÷ keys under the folder (server work, deterministic)
 *   queries    our range requests
 * and ends with one RESULT line; its worst values are over folders with ≥ 100k keys under them.
 * BENCH_SHAPES=1,3 picks shapes (1-based), BENCH_RUNS the runs per measurement (median; default 3).
 */
import { EtcdConnection } from '../src/etcd/connection';
import { FolderCache } from '../src/etcd/keyspace/folderCache';
import { listChildren } from '../src/etcd/keyspace/listChildren';
import { endOf } from '../src/etcd/keyspace/partition';
import { silentLogger } from '../src/etcd/logger';
import { EtcdCluster } from '../test/rig/etcd';
import { SHAPES, Shape } from './treeShapes';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BIG = 100_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Txn batches of 128 puts (empty values), 16 in flight. */
async function seed(conn: EtcdConnection, shape: Shape): Promise<number> {
  const keys = shape.keys();
  let count = 0;
  let done = false;
  const nextBatch = (): Buffer[] => {
    const batch: Buffer[] = [];
    while (!done && batch.length < 128) {
      const n = keys.next();
      if (n.done) done = true;
      else batch.push(Buffer.from(n.value));
    }
    count += batch.length;
    return batch;
  };
  const empty = Buffer.alloc(0);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let batch = nextBatch(); batch.length; batch = nextBatch()) {
        await conn.write('seed', (c) =>
          c.kv.txn({ compare: [], success: batch.map((key) => ({ request_put: { key, value: empty } })), failure: [] }),
        );
      }
    }),
  );
  return count;
}

interface Row {
  shape: string;
  level: number;
  folder: string;
  keys: number;
  children: number;
  ours: number;
  keysRead: number;
  floor: number;
  visits: number;
  queries: number;
}

async function measureShape(shape: Shape): Promise<{ rows: Row[]; cached: number }> {
  const cluster = await EtcdCluster.start({ quotaBackendBytes: 8 * 1024 ** 3 });
  const conn = new EtcdConnection(
    { id: 'bench', name: 'bench', endpoints: cluster.endpoints, timeoutMs: 120_000 },
    {},
    silentLogger,
    {
      maxReceiveBytes: 1024 * 1024 * 1024,
    },
  );
  try {
    const t0 = performance.now();
    const total = await seed(conn, shape);
    console.log(`\n## ${shape.name}: ${total} keys seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const rows: Row[] = [];
    const opts = { separator: '/', pageSize: 500 };
    for (const [i, folder] of shape.levels.entries()) {
      const prefix = Buffer.from(folder);
      const end = endOf(prefix)!;
      const keysRead = () =>
        conn.call('keys-only read', (c) => c.kv.range({ key: prefix, range_end: end, keys_only: true }));
      const floor = () =>
        conn.call('count floor', (c) => c.kv.range({ key: prefix, range_end: end, count_only: true }));
      await floor(); // warm the server's caches so run order favours nobody
      const ours: number[] = [];
      const reads: number[] = [];
      const floors: number[] = [];
      let page = await listChildren(conn, prefix, opts);
      for (let r = 0; r < RUNS; r++) {
        const o = await timed(() => listChildren(conn, prefix, opts));
        ours.push(o.ms);
        page = o.value;
        reads.push((await timed(keysRead)).ms);
        floors.push((await timed(floor)).ms);
      }
      const keys = Number((await floor()).count);
      const full = await keysRead();
      // The listing must be right: its children are the first 500 of a full read's.
      const expected = new Set<string>();
      for (const kv of full.kvs) {
        const rest = kv.key.subarray(prefix.length);
        const cut = rest.indexOf('/');
        expected.add(
          cut < 0 ? kv.key.toString('latin1') : kv.key.subarray(0, prefix.length + cut + 1).toString('latin1'),
        );
      }
      const want = [...expected]
        .sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')))
        .slice(0, 500);
      const got = page.children.map((c) => c.key.toString('latin1'));
      if (JSON.stringify(want) !== JSON.stringify(got))
        throw new Error(`${shape.name} ${folder}: wrong listing (${got.length} children, expected ${want.length})`);
      rows.push({
        shape: shape.name,
        level: i + 1,
        folder,
        keys,
        children: expected.size,
        ours: median(ours),
        keysRead: median(reads),
        floor: median(floors),
        visits: page.visited / keys,
        queries: page.queries,
      });
    }
    // Re-expanding through the tree's cache costs no query.
    const cache = new FolderCache(conn, { separator: '/', pageSize: 500 });
    await cache.list(Buffer.from(shape.levels[0]));
    const before = cache.queries;
    await cache.list(Buffer.from(shape.levels[0]));
    const cached = cache.queries - before;
    cache.dispose();
    printRows(rows);
    return { rows, cached };
  } finally {
    await conn.close();
    await cluster.stop();
  }
}

function printRows(rows: Row[]): void {
  console.log(
    '| level | folder | keys | children | ours ms | keys-only read ms | floor ms | ours/floor | read/ours | visits/key | requests |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.level} | ${r.folder} | ${r.keys} | ${r.children} | ${r.ours.toFixed(1)} | ${r.keysRead.toFixed(1)} | ${r.floor.toFixed(1)} | ${(r.ours / r.floor).toFixed(2)} | ${(r.keysRead / r.ours).toFixed(2)} | ${r.visits.toFixed(2)} | ${r.queries} |`,
    );
  }
}

async function main(): Promise<void> {
  const picked = process.env.BENCH_SHAPES
    ? process.env.BENCH_SHAPES.split(',').map((n) => SHAPES[Number(n) - 1])
    : SHAPES;
  const rows: Row[] = [];
  let cached = 0;
  for (const shape of picked) {
    const r = await measureShape(shape);
    rows.push(...r.rows);
    cached = Math.max(cached, r.cached);
  }
  const big = rows.filter((r) => r.keys >= BIG);
  const worstFloor = Math.max(...big.map((r) => r.ours / r.floor));
  const worstRead = Math.min(...big.map((r) => r.keysRead / r.ours));
  const worstVisits = Math.max(...big.map((r) => r.visits));
  const maxQueries = Math.max(...rows.map((r) => r.queries));
  console.log(
    `RESULT tree shapes=${picked.length} worst_vs_floor=${worstFloor.toFixed(2)} worst_vs_keys_read=${worstRead.toFixed(2)} worst_visits=${worstVisits.toFixed(2)} max_queries=${maxQueries} cached_queries=${cached}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
