import type { EtcdConnection } from '../../src/etcd/connection';

export interface SeedOptions {
  /** Every key's value (empty by default). */
  readonly value?: Buffer;
  /** Puts per Txn (etcd's default --max-txn-ops is 128). */
  readonly perTxn?: number;
  /** Txns in flight at once. */
  readonly parallel?: number;
}

/** Puts `keys` in Txns of `perTxn` puts, `parallel` of them in flight. */
export async function seedKeys(
  conn: EtcdConnection,
  keys: readonly Buffer[],
  options: SeedOptions = {},
): Promise<void> {
  const { value = Buffer.alloc(0), perTxn = 128, parallel = 1 } = options;
  const batches: Buffer[][] = [];
  for (let i = 0; i < keys.length; i += perTxn) batches.push(keys.slice(i, i + perTxn));
  await Promise.all(
    Array.from({ length: Math.min(parallel, batches.length) }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        const puts = batch;
        await conn.write('seed', (c) =>
          c.kv.txn({ compare: [], success: puts.map((key) => ({ request_put: { key, value } })), failure: [] }),
        );
      }
    }),
  );
}
