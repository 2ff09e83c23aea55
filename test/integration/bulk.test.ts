import * as assert from 'node:assert/strict';
import { BulkCheckpoint } from '../../src/etcd/batchRunner';
import { bulkDelete, bulkPut, previewBulkDelete, renderBulkReport } from '../../src/etcd/bulk';
import { BulkItem } from '../../src/etcd/bulkInput';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { prefixEnd } from '../../src/etcd/keyCodec';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

const b = (s: string) => Buffer.from(s);

function items(prefix: string, count: number, value = (i: number) => `value-${i}`): BulkItem[] {
  return Array.from({ length: count }, (_, i) => ({
    key: b(`${prefix}${String(i).padStart(5, '0')}`),
    value: b(value(i)),
  }));
}

describe('bulk put and delete (real etcd)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  const connect = (extra: { namespace?: string; readOnly?: boolean } = {}) =>
    new EtcdConnection(
      { id: 'bulk', name: 'bulk', endpoints: cluster.endpoints, timeoutMs: 5000, retries: 0, ...extra },
      {},
      silentLogger,
    );

  /** Every key under `prefix` with its value, version and mod revision. */
  async function scan(prefix: string, c = conn) {
    const p = b(prefix);
    const res = await c.call('scan', (cl) =>
      cl.kv.range({ key: c.absoluteKey(p), range_end: prefixEnd(c.absoluteKey(p)) }),
    );
    return res.kvs.map((kv) => ({
      key: c.relativeKey(kv.key).toString(),
      value: kv.value.toString(),
      version: kv.version,
      mod: kv.mod_revision,
    }));
  }

  /** Asserts every item landed once: present, with its value, at version 1. */
  async function assertExactlyOnce(prefix: string, expected: BulkItem[]) {
    const got = await scan(prefix);
    assert.equal(got.length, expected.length, 'every key present');
    const byKey = new Map(got.map((g) => [g.key, g]));
    for (const item of expected) {
      const kv = byKey.get(item.key.toString());
      assert.ok(kv, `${item.key} present`);
      assert.equal(kv.value, item.value.toString());
      assert.equal(kv.version, '1', `${item.key} written exactly once`);
    }
  }

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = connect();
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  it('puts 1,000 keys in 8 Txns of at most 128, and each key carries its batch revision', async () => {
    const input = items('/p1/', 1000);
    const commitOrder: string[] = [];
    // One at a time, so commit order is batch order (with more in flight, answers may arrive in any order).
    const result = await bulkPut(conn, input, {
      maxTxnOps: 128,
      concurrency: 1,
      onBatch: (x) => commitOrder.push(x.revision!),
    });
    assert.ok(result.complete);
    assert.equal(result.batches.length, 8);
    assert.deepEqual(
      result.batches.map((x) => x.ops),
      [128, 128, 128, 128, 128, 128, 128, 104],
    );
    assert.equal(result.written, 1000);
    assert.equal(new Set(commitOrder).size, 8, 'one revision per batch');
    for (let i = 1; i < 8; i++)
      assert.ok(BigInt(result.batches[i].revision!) > BigInt(result.batches[i - 1].revision!), 'revisions increase');
    await assertExactlyOnce('/p1/', input);
    const got = await scan('/p1/');
    for (const [i, kv] of got.entries())
      assert.equal(
        kv.mod,
        result.batches[Math.floor(i / 128)].revision,
        'the report names the revision that wrote the key',
      );
    assert.match(renderBulkReport(result, 'Bulk put'), /Complete/);
  });

  it('drops repeated keys (last value wins) instead of sending a Txn etcd refuses', async () => {
    const result = await bulkPut(conn, [
      { key: b('/dup/a'), value: b('1') },
      { key: b('/dup/a'), value: b('2') },
    ]);
    assert.ok(result.complete);
    assert.equal(result.duplicates, 1);
    assert.deepEqual(
      (await scan('/dup/')).map((k) => k.value),
      ['2'],
    );
  });

  it('atomic mode refuses 129 keys and writes nothing; 128 go in one Txn', async () => {
    await assert.rejects(
      bulkPut(conn, items('/atomic/', 129), { atomic: true }),
      (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'tooManyOps' && /129 keys/.test(err.message),
    );
    assert.equal((await scan('/atomic/')).length, 0);
    const result = await bulkPut(conn, items('/atomic/', 128), { atomic: true });
    assert.equal(result.batches.length, 1);
    assert.equal(new Set((await scan('/atomic/')).map((k) => k.mod)).size, 1, 'all in one revision');
  });

  it('cancelled midway, then resumed from the checkpoint: every key lands exactly once', async () => {
    const input = items('/cancel/', 2000);
    const abort = new AbortController();
    let saved: BulkCheckpoint | undefined;
    const first = await bulkPut(conn, input, {
      concurrency: 3,
      signal: abort.signal,
      onCheckpoint: (c) => (saved = c),
      onBatch: (_x, done) => done === 4 && abort.abort(),
    });
    assert.ok(first.cancelled);
    assert.equal(first.complete, false);
    const committed = first.batches.filter((x) => x.status === 'committed');
    assert.ok(
      committed.length >= 4 && committed.length < 16,
      `${committed.length} batches committed before the cancel took hold`,
    );
    assert.ok(first.batches.some((x) => x.status === 'notSent'));
    assert.deepEqual(saved, first.checkpoint, 'the last checkpoint reported is the final one');
    assert.equal(
      (await scan('/cancel/')).length,
      committed.reduce((n, x) => n + x.ops, 0),
      'the report says exactly what was written',
    );

    const second = await bulkPut(conn, input, { checkpoint: saved });
    assert.ok(second.complete, second.error);
    assert.equal(second.batches.filter((x) => x.earlierRun).length, committed.length);
    await assertExactlyOnce('/cancel/', input);
  });

  it('a batch that committed but whose answer was lost is recognised on resume, not applied twice', async () => {
    const input = items('/lost/', 300);
    const run = await bulkPut(conn, input, { maxTxnOps: 100 });
    assert.ok(run.complete);
    // As if the answer of batch 2 never arrived: the checkpoint lists it as unknown.
    const lost: BulkCheckpoint = {
      ...run.checkpoint,
      committed: run.checkpoint.committed.filter((c) => c.index !== 1),
      unknown: [1],
    };
    const resumed = await bulkPut(conn, input, { maxTxnOps: 100, checkpoint: lost });
    assert.ok(resumed.complete, resumed.error);
    assert.equal(resumed.batches[1].status, 'committed');
    assert.equal(resumed.batches[1].revision, run.batches[1].revision, 'found at its original revision');
    await assertExactlyOnce('/lost/', input);
    // A checkpoint that does not say which revision came before (made by hand) still finds the commit.
    const { knownRevision: _dropped, ...handMade } = lost;
    const third = await bulkPut(conn, input, { maxTxnOps: 100, checkpoint: handMade });
    assert.equal(third.batches[1].revision, run.batches[1].revision);
    await assertExactlyOnce('/lost/', input);

    // Same for skip mode, where only absent keys were written: the pre-existing key stays untouched.
    await conn.write('put', (c) => c.put('/lost2/00003').value('theirs').exec());
    const skipInput = items('/lost2/', 10);
    const skipRun = await bulkPut(conn, skipInput, { mode: 'skip' });
    assert.equal(skipRun.written, 9);
    assert.equal(skipRun.skipped, 1);
    const again = await bulkPut(conn, skipInput, {
      mode: 'skip',
      checkpoint: { ...skipRun.checkpoint, committed: [], unknown: [0] },
    });
    assert.equal(again.batches[0].revision, skipRun.batches[0].revision);
    assert.equal(again.written, 9);
    const got = await scan('/lost2/');
    assert.ok(got.every((k) => k.version === '1'));
    assert.equal(got.find((k) => k.key === '/lost2/00003')!.value, 'theirs');
  });

  it('an unknown batch that did not commit is sent on resume', async () => {
    const input = items('/unsent/', 50);
    const fake: BulkCheckpoint = {
      version: 1,
      kind: 'put:overwrite',
      total: 50,
      batchSize: 128,
      committed: [],
      unknown: [0],
    };
    const result = await bulkPut(conn, input, { checkpoint: fake });
    assert.ok(result.complete);
    assert.equal(result.written, 50);
    await assertExactlyOnce('/unsent/', input);
  });

  it('SIGKILL of the member mid-import, restart, resume: every key exactly once', async () => {
    const input = items('/kill/', 4000, (i) => 'x'.repeat(100) + i);
    const writer = connect();
    let saved: BulkCheckpoint | undefined;
    let killed: Promise<void> | undefined;
    const first = await bulkPut(writer, input, {
      concurrency: 4,
      onCheckpoint: (c) => (saved = c),
      onBatch: (_x, done) => {
        if (done === 3 && !killed) killed = cluster.kill(0, 'SIGKILL');
      },
    });
    await killed;
    await writer.close();
    assert.equal(first.complete, false);
    assert.ok(first.error, 'the run reports why it stopped');
    assert.ok(saved);
    assert.ok(saved.unknown.length > 0, 'batches in flight when the member died are listed as unknown');
    assert.deepEqual(
      saved.unknown,
      first.batches.filter((x) => x.outcomeUnknown).map((x) => x.index),
    );
    const committedBefore = first.batches.filter((x) => x.status === 'committed').length;
    assert.ok(committedBefore >= 3 && committedBefore < first.batches.length);
    assert.match(renderBulkReport(first, 'Import'), /Not committed/);

    await cluster.restart(0);
    const again = connect();
    try {
      const second = await bulkPut(again, input, { checkpoint: saved, concurrency: 4 });
      assert.ok(second.complete, second.error);
    } finally {
      await again.close();
    }
    await assertExactlyOnce('/kill/', input);
  });

  it('modes on existing keys: skip leaves them, overwrite replaces them', async () => {
    await conn.write('put', (c) => c.put('/modes/00001').value('old').exec());
    const input = items('/modes/', 3);
    const skip = await bulkPut(conn, input, { mode: 'skip' });
    assert.deepEqual([skip.written, skip.skipped], [2, 1]);
    assert.equal((await scan('/modes/'))[1].value, 'old');
    const over = await bulkPut(conn, input, { mode: 'overwrite' });
    assert.equal(over.written, 3);
    assert.deepEqual(
      (await scan('/modes/')).map((k) => k.value),
      ['value-0', 'value-1', 'value-2'],
    );
  });

  it('a key given a lease is attached to it, the others to none', async () => {
    const lease = await conn.call('grant', (c) => c.leaseClient.leaseGrant({ TTL: 600 }));
    const result = await bulkPut(conn, [
      { key: b('/leased/a'), value: b('1'), lease: lease.ID },
      { key: b('/leased/b'), value: b('2') },
    ]);
    assert.ok(result.complete, result.error);
    const res = await conn.call('read', (c) => c.kv.range({ key: b('/leased/'), range_end: prefixEnd(b('/leased/')) }));
    assert.deepEqual(
      res.kvs.map((kv) => [kv.key.toString(), kv.lease]),
      [
        ['/leased/a', lease.ID],
        ['/leased/b', '0'],
      ],
    );
  });

  it('keys are relative to the connection namespace', async () => {
    const ns = connect({ namespace: '/tenant/' });
    try {
      await bulkPut(ns, items('cfg/', 5));
      assert.equal((await scan('/tenant/cfg/')).length, 5);
      const preview = await previewBulkDelete(ns, [{ key: b('cfg/'), prefix: true }]);
      assert.equal(preview.keys, 5);
      assert.equal(preview.sample[0], 'cfg/00000');
    } finally {
      await ns.close();
    }
  });

  it('bulk delete of prefixes and keys, counted first by the preview', async () => {
    await bulkPut(conn, [
      ...items('/del/a/', 50),
      ...items('/del/b/', 30),
      { key: b('/del/c'), value: b('1') },
      ...items('/del/keep/', 5),
    ]);
    const targets = [
      { key: b('/del/a/'), prefix: true },
      { key: b('/del/c') },
      { key: b('/del/a/00001') },
      { key: b('/del/b/'), prefix: true },
      { key: b('/del/missing') },
    ];
    const preview = await previewBulkDelete(conn, targets);
    assert.equal(preview.keys, 81);
    assert.equal(preview.sample.length, 20);
    const result = await bulkDelete(conn, targets, { maxTxnOps: 2 });
    assert.ok(result.complete);
    assert.equal(result.batches.length, 2, 'the covered key dropped: 4 targets in Txns of 2');
    assert.equal(result.deleted, 81);
    assert.deepEqual(
      (await scan('/del/')).map((k) => k.key),
      items('/del/keep/', 5).map((i) => i.key.toString()),
    );
    assert.match(renderBulkReport(result, 'Bulk delete'), /Keys deleted: 81/);
  });

  it('a read-only connection refuses bulk writes up front', async () => {
    await bulkPut(conn, items('/ro-kept/', 10));
    const ro = connect({ readOnly: true });
    try {
      await assert.rejects(
        bulkPut(ro, items('/ro/', 3)),
        (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'readOnly',
      );
      await assert.rejects(
        bulkDelete(ro, [{ key: b('/ro-kept/'), prefix: true }]),
        (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'readOnly',
      );
    } finally {
      await ro.close();
    }
    assert.equal((await scan('/ro/')).length, 0);
    assert.equal((await scan('/ro-kept/')).length, 10);
  });

  /** `conn` seen through a spy: every Txn request a bulk run sends, and optionally each write sent twice. */
  function spy(sendTwice = false) {
    const txns: Array<{ compares: number; rangeEnd: boolean }> = [];
    const client = {
      kv: {
        txn: (req: { compare?: Array<{ range_end?: Buffer }> }) => {
          txns.push({
            compares: req.compare?.length ?? 0,
            rangeEnd: req.compare?.some((c) => c.range_end !== undefined) ?? false,
          });
          return conn.client.kv.txn(req as Parameters<typeof conn.client.kv.txn>[0]);
        },
      },
    } as unknown as typeof conn.client;
    const spied: EtcdConnection = Object.create(conn);
    // A write sent twice is what etcd3's retry does when the first answer is lost: the second answer is returned.
    spied.write = async (operation, fn) => {
      if (sendTwice) await conn.write(operation, () => fn(client));
      return conn.write(operation, () => fn(client));
    };
    return { spied, txns };
  }

  it('each batch of fresh keys is guarded by one compare over its key range, and a Txn sent twice applies once', async () => {
    const input = items('/twice/', 300);
    const { spied, txns } = spy(true);
    const run = await bulkPut(spied, input, { concurrency: 2 });
    assert.ok(run.complete, run.error);
    assert.equal(run.written, 300);
    const sends = txns.filter((t) => t.compares > 0);
    assert.equal(sends.length, 6, '3 batches, each sent twice');
    assert.ok(
      sends.every((t) => t.compares === 1 && t.rangeEnd),
      'one range compare per Txn',
    );
    await assertExactlyOnce('/twice/', input);
    const got = await scan('/twice/');
    for (const batch of run.batches) {
      const mods = new Set(got.filter((k) => k.key >= batch.firstKey && k.key <= batch.lastKey).map((k) => k.mod));
      assert.deepEqual([...mods], [batch.revision], 'the batch is reported at the revision of its one commit');
    }

    // Overwriting existing keys: still one send per batch (no first attempt that assumes them absent), and once.
    const again = spy(true);
    const over = await bulkPut(
      again.spied,
      input.map((i) => ({ ...i, value: b('second') })),
      { concurrency: 2 },
    );
    assert.ok(over.complete, over.error);
    assert.equal(again.txns.filter((t) => t.compares > 0).length, 6);
    assert.ok(
      (await scan('/twice/')).every((k) => k.version === '2' && k.value === 'second'),
      'each key written once more',
    );
  });

  it('the range guard sees a key of others changed between ours, and a range crowded with others falls back to a compare per key', async () => {
    // A key of someone else inside the batch's range, written after the run read its start revision.
    const input = items('/hot/', 20);
    const { spied, txns } = spy();
    let poked = false;
    spied.call = async (operation, fn, signal) => {
      const res = await conn.call(operation, fn, signal);
      if (!poked && /count the keys/.test(operation)) {
        poked = true;
        await conn.write('put', (c) => c.put('/hot/00005x').value('theirs').exec());
      }
      return res;
    };
    const run = await bulkPut(spied, input);
    assert.ok(run.complete, run.error);
    const guarded = txns.filter((t) => t.compares > 0);
    assert.deepEqual(
      guarded.map((t) => t.compares),
      [1, 1],
      'the first Txn failed its range compare and was re-sent',
    );
    await assertExactlyOnce('/hot/', input.concat({ key: b('/hot/00005x'), value: b('theirs') }));

    // 2 of ours around 1,000 of others: the range would read them all, so each key gets its own compare.
    await bulkPut(conn, items('/crowd/m', 1000));
    const sparse = [
      { key: b('/crowd/a'), value: b('1') },
      { key: b('/crowd/z'), value: b('2') },
    ];
    const crowded = spy();
    const r = await bulkPut(crowded.spied, sparse);
    assert.ok(r.complete, r.error);
    assert.deepEqual(
      crowded.txns.filter((t) => t.compares > 0).map((t) => [t.compares, t.rangeEnd]),
      [[2, false]],
    );
  });
});
