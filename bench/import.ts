/**
 * `npm run bench:import` — bulk import throughput and export memory, against one local etcd, in one run:
 *   ours        bulkPut with the default settings (guarded Txns of 128 puts, DEFAULT_CONCURRENCY in flight;
 *               BENCH_CONCURRENCY overrides), 100,000 keys × 100 B
 *   sequential  one put at a time, awaited (what a naive loop does) — measured on a 5,000-key sample
 *   raw         plain pipelined Put RPCs, no Txn, no guard: 32 / 128 / 512 in flight probed on 20,000 keys each,
 *               the best level then re-run on all 100,000 (that run is raw_best)
 *   txn16       unguarded Txns of 128 puts, 16 in flight: what bulk put would cost without its exactly-once guard
 *               and checkpoints. vs_txn16 = ours ÷ txn16, from BENCH_BLOCKS alternating blocks of 20,000 keys each
 *               (who goes first alternates), so load from elsewhere on the machine hits both alike.
 * Every run writes new keys under its own prefix, so all do the same work. Then 1,000,000 keys are seeded and
 * exported by a child process, whose peak RSS (getrusage maxrss) is the export's memory.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CONCURRENCY } from '../src/etcd/batchRunner';
import { bulkPut } from '../src/etcd/bulk';
import { BulkItem } from '../src/etcd/bulkInput';
import { EtcdConnection } from '../src/etcd/connection';
import { silentLogger } from '../src/etcd/logger';
import { exportPrefix } from '../src/etcd/transfer';
import { EtcdCluster } from '../test/rig/etcd';

const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const SEQUENTIAL_SAMPLE = Number(process.env.BENCH_SEQUENTIAL_KEYS ?? 5_000);
const EXPORT_KEYS = Number(process.env.BENCH_EXPORT_KEYS ?? 1_000_000);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 8);
const BLOCK_KEYS = 20_000;
const RAW_LEVELS = [32, 128, 512];
const RAW_PROBE_KEYS = 20_000;
const VALUE = Buffer.alloc(100, 'v');

const connect = (endpoints: string[]) =>
  new EtcdConnection({ id: 'bench', name: 'bench', endpoints, timeoutMs: 60_000 }, {}, silentLogger);

function keys(prefix: string, count: number, from = 0): BulkItem[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`${prefix}${String(from + i).padStart(8, '0')}`),
    value: VALUE,
  }));
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function count(conn: EtcdConnection, prefix: string): Promise<number> {
  const p = Buffer.from(prefix);
  const end = Buffer.from(p);
  end[end.length - 1]++;
  const res = await conn.call('count', (c) => c.kv.range({ key: p, range_end: end, count_only: true }));
  return Number(res.count);
}

/** Runs `work` on every item, `inFlight` at a time. */
async function inParallel<T>(
  items: readonly T[],
  inFlight: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

function rawPipelined(conn: EtcdConnection, items: BulkItem[], inFlight: number): Promise<void> {
  return inParallel(items, inFlight, (item) => conn.client.kv.put({ key: item.key, value: item.value }));
}

/** Unguarded Txns of 128 puts, `inFlight` at a time, on the raw client. */
function rawTxns(conn: EtcdConnection, items: BulkItem[], inFlight: number): Promise<void> {
  const batches: BulkItem[][] = [];
  for (let i = 0; i < items.length; i += 128) batches.push(items.slice(i, i + 128));
  return inParallel(batches, inFlight, (batch) =>
    conn.client.kv.txn({
      compare: [],
      success: batch.map((i) => ({ request_put: { key: i.key, value: i.value } })),
      failure: [],
    }),
  );
}

/** Child mode: export a prefix and report peak RSS, so the parent's import data does not count. */
async function exportChild(endpoint: string, prefix: string, file: string): Promise<void> {
  const conn = connect([endpoint]);
  const t0 = performance.now();
  const manifest = await exportPrefix(conn, Buffer.from(prefix), file);
  await conn.close();
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({ keys: manifest.keys, bytes: manifest.bytes, seconds, maxRssKb: process.resourceUsage().maxRSS }),
  );
}

async function measureExport(
  endpoint: string,
  prefix: string,
  file: string,
): Promise<{ keys: number; bytes: number; seconds: number; maxRssKb: number }> {
  const child = spawn(process.execPath, [__filename, '--export-child', endpoint, prefix, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code: number = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`export child exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const cluster = await EtcdCluster.start({ quotaBackendBytes: 8 * 1024 ** 3 });
  const conn = connect(cluster.endpoints);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
  try {
    // Warm-up: connection, leader, first pages of the db.
    await bulkPut(conn, keys('/warm/', 2_000), { concurrency: CONCURRENCY });
    await rawTxns(conn, keys('/warm16/', 2_000), 16);

    const seqItems = keys('/seq/', SEQUENTIAL_SAMPLE);
    const seqSeconds = await timed(async () => {
      for (const item of seqItems) await conn.client.kv.put({ key: item.key, value: item.value });
    });
    const sequentialKps = SEQUENTIAL_SAMPLE / seqSeconds;
    console.log(
      `sequential: ${SEQUENTIAL_SAMPLE} keys (sample) in ${seqSeconds.toFixed(2)} s → ${sequentialKps.toFixed(0)} keys/s`,
    );

    const probe: Array<[number, number]> = [];
    for (const level of RAW_LEVELS) {
      const n = Math.min(RAW_PROBE_KEYS, KEYS);
      const s = await timed(() => rawPipelined(conn, keys(`/probe${level}/`, n), level));
      probe.push([level, n / s]);
      console.log(
        `raw pipelined puts, ${level} in flight: ${n} keys (probe) in ${s.toFixed(2)} s → ${(n / s).toFixed(0)} keys/s`,
      );
    }
    const bestLevel = probe.sort((a, b) => b[1] - a[1])[0][0];
    const rawSeconds = await timed(() => rawPipelined(conn, keys('/raw/', KEYS), bestLevel));
    if ((await count(conn, '/raw/')) !== KEYS) throw new Error('raw: keys missing');
    const rawBest = KEYS / rawSeconds;
    console.log(
      `raw pipelined puts at the best level (${bestLevel} in flight): ${KEYS} keys in ${rawSeconds.toFixed(2)} s → ${rawBest.toFixed(0)} keys/s`,
    );

    const ourItems = keys('/ours/', KEYS);
    let batches = 0;
    const oursSeconds = await timed(async () => {
      const result = await bulkPut(conn, ourItems, { concurrency: CONCURRENCY, onBatch: () => batches++ });
      if (!result.complete) throw new Error(`bulk put incomplete: ${result.error}`);
    });
    if ((await count(conn, '/ours/')) !== KEYS) throw new Error('ours: keys missing');
    const oursKps = KEYS / oursSeconds;
    const inFlight = CONCURRENCY ?? DEFAULT_CONCURRENCY;
    console.log(
      `ours (bulkPut, ${batches} guarded Txns, ${inFlight} in flight): ${KEYS} keys in ${oursSeconds.toFixed(2)} s → ${oursKps.toFixed(0)} keys/s`,
    );

    // Ours against unguarded Txns ×128 at 16 in flight, in alternating blocks.
    let oursBlockSeconds = 0;
    let txnBlockSeconds = 0;
    for (let block = 0; block < BLOCKS; block++) {
      const runOurs = () =>
        timed(async () => {
          const r = await bulkPut(conn, keys(`/blk${block}/ours/`, BLOCK_KEYS), { concurrency: CONCURRENCY });
          if (!r.complete) throw new Error(`bulk put incomplete: ${r.error}`);
        });
      const runTxn = () => timed(() => rawTxns(conn, keys(`/blk${block}/txn16/`, BLOCK_KEYS), 16));
      let a: number;
      let t16: number;
      if (block % 2 === 0) {
        a = await runOurs();
        t16 = await runTxn();
      } else {
        t16 = await runTxn();
        a = await runOurs();
      }
      oursBlockSeconds += a;
      txnBlockSeconds += t16;
      console.log(
        `block ${block + 1}/${BLOCKS}: ours ${(BLOCK_KEYS / a).toFixed(0)} keys/s, txn16 ${(BLOCK_KEYS / t16).toFixed(0)} keys/s`,
      );
    }
    for (let block = 0; block < BLOCKS; block++) {
      if (
        (await count(conn, `/blk${block}/ours/`)) !== BLOCK_KEYS ||
        (await count(conn, `/blk${block}/txn16/`)) !== BLOCK_KEYS
      ) {
        throw new Error(`block ${block + 1}: keys missing`);
      }
    }
    const vsTxn16 = txnBlockSeconds / oursBlockSeconds;
    console.log(
      `ours vs unguarded Txns of 128 at 16 in flight, ${BLOCKS} × ${BLOCK_KEYS} keys each: ${vsTxn16.toFixed(2)}`,
    );

    // Export: seed 1M keys in slices (this process's memory stays bounded too), then export from a child.
    const seedT0 = performance.now();
    const SLICE = 100_000;
    for (let from = 0; from < EXPORT_KEYS; from += SLICE) {
      const r = await bulkPut(conn, keys('/exp/', Math.min(SLICE, EXPORT_KEYS - from), from), {
        concurrency: CONCURRENCY,
      });
      if (!r.complete) throw new Error(`seeding failed: ${r.error}`);
      console.log(
        `seeded ${Math.min(from + SLICE, EXPORT_KEYS)} keys for the export (${((performance.now() - seedT0) / 1000).toFixed(1)} s)`,
      );
    }
    const exp = await measureExport(cluster.endpoints[0], '/exp/', path.join(dir, 'export.ndjson'));
    if (exp.keys !== EXPORT_KEYS) throw new Error(`export wrote ${exp.keys} keys, expected ${EXPORT_KEYS}`);
    const peakMb = exp.maxRssKb / 1024;
    console.log(
      `export: ${exp.keys} keys, ${(exp.bytes / 1024 ** 2).toFixed(0)} MiB in ${exp.seconds.toFixed(1)} s, child peak RSS ${peakMb.toFixed(0)} MB`,
    );

    console.log(
      `RESULT import keys=${KEYS} ours_kps=${oursKps.toFixed(0)} sequential_kps=${sequentialKps.toFixed(0)} raw_best_kps=${rawBest.toFixed(0)} ` +
        `vs_sequential=${(oursKps / sequentialKps).toFixed(1)} vs_raw=${(oursKps / rawBest).toFixed(2)} export_1m_peak_rss_mb=${peakMb.toFixed(0)} ` +
        `vs_txn16=${vsTxn16.toFixed(2)}`,
    );
  } finally {
    await conn.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--export-child') {
  exportChild(process.argv[3], process.argv[4], process.argv[5]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
