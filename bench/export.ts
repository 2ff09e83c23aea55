/**
 * `npm run bench:export` — export throughput against one plain range read of the same keys, one local etcd, one run:
 *   export  exportPrefix: the scan engine's ordered scan (keys + values, pinned revision, bounded pages read
 *           ahead), NDJSON lines hashed and written to a file, manifest beside it
 *   range   one range request of the whole prefix with values, decoded (what a single Range RPC costs)
 * BENCH_EXPORT_KEYS keys (default 100,000) with 100-byte values; median of BENCH_RUNS (default 3).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EtcdConnection } from '../src/etcd/connection';
import { prefixEnd } from '../src/etcd/keyCodec';
import { silentLogger } from '../src/etcd/logger';
import { exportPrefix, verifyExport } from '../src/etcd/transfer';
import { EtcdCluster } from '../test/rig/etcd';

const KEYS = Number(process.env.BENCH_EXPORT_KEYS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PREFIX = Buffer.from('/export/');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const cluster = await EtcdCluster.start({ quotaBackendBytes: 4 * 1024 ** 3 });
  const conn = new EtcdConnection(
    { id: 'bench', name: 'bench', endpoints: cluster.endpoints, timeoutMs: 120_000 },
    {},
    silentLogger,
    {
      maxReceiveBytes: 512 * 1024 * 1024,
    },
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
  try {
    const value = Buffer.alloc(100, 'v');
    const batches: Buffer[][] = [];
    for (let i = 0; i < KEYS; i += 128)
      batches.push(
        Array.from({ length: Math.min(128, KEYS - i) }, (_, j) =>
          Buffer.from(`/export/key-${String(i + j).padStart(8, '0')}`),
        ),
      );
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          await conn.write('seed', (c) =>
            c.kv.txn({ compare: [], success: batch.map((key) => ({ request_put: { key, value } })), failure: [] }),
          );
        }
      }),
    );
    const exportMs: number[] = [];
    const rangeMs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const file = path.join(dir, `export-${r}.ndjson`);
      let t0 = performance.now();
      const manifest = await exportPrefix(conn, PREFIX, file);
      exportMs.push(performance.now() - t0);
      if (manifest.keys !== KEYS) throw new Error(`exported ${manifest.keys} keys, expected ${KEYS}`);
      await verifyExport(file);
      fs.rmSync(file);
      t0 = performance.now();
      const res = await conn.call('range', (c) => c.kv.range({ key: PREFIX, range_end: prefixEnd(PREFIX) }));
      rangeMs.push(performance.now() - t0);
      if (res.kvs.length !== KEYS) throw new Error(`range returned ${res.kvs.length} keys`);
    }
    const exportKps = KEYS / (median(exportMs) / 1000);
    const rangeKps = KEYS / (median(rangeMs) / 1000);
    console.log(
      `export ms ${exportMs.map((x) => x.toFixed(0)).join('/')}; one range ms ${rangeMs.map((x) => x.toFixed(0)).join('/')}`,
    );
    console.log(
      `RESULT export keys=${KEYS} export_kps=${exportKps.toFixed(0)} range_kps=${rangeKps.toFixed(0)} ratio=${(exportKps / rangeKps).toFixed(2)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await conn.close();
    await cluster.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
