import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { silentLogger } from '../../src/etcd/logger';
import {
  casPut,
  compactRevision,
  copyKey,
  createKey,
  deleteKey,
  deletePrefixGuarded,
  deletedSince,
  keyHistory,
  previewPrefixDelete,
  readValue,
} from '../../src/etcd/values';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

const b = (s: string) => Buffer.from(s);

describe('values (real etcd)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  let other: EtcdConnection;

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'a', name: 'a', endpoints: cluster.endpoints }, {}, silentLogger);
    other = new EtcdConnection({ id: 'b', name: 'b', endpoints: cluster.endpoints }, {}, silentLogger);
  });
  after(async () => {
    await conn?.close();
    await other?.close();
    await cluster?.stop();
  });

  it('CAS save detects every concurrent change (100 of 100) and loses no update', async () => {
    const key = b('/cas/counter');
    await createKey(conn, key, b('0'));
    let conflicts = 0;
    let applied = 0;
    for (let i = 0; i < 100; i++) {
      const seen = (await readValue(conn, key))!;
      // Another writer changes the key between our read and our save.
      await other.write('put', (c) => c.put(key).value(`other-${i}`).exec());
      const result = await casPut(conn, key, b(`mine-${i}`), seen.modRevision);
      if (result.ok) applied++;
      else {
        conflicts++;
        assert.equal(result.current?.value.toString(), `other-${i}`, 'the conflict shows the current value');
        // Resolving by a new CAS against what the user was shown succeeds.
        const again = await casPut(conn, key, b(`mine-${i}`), result.current!.modRevision);
        assert.ok(again.ok);
      }
    }
    assert.equal(conflicts, 100);
    assert.equal(applied, 0);
    // Every write is in the history: 1 create + 100 other + 100 resolved = version 201.
    const final = (await readValue(conn, key))!;
    assert.equal(final.version, '201');
    assert.equal(final.value.toString(), 'mine-99');
  });

  it('keeps the key lease across a save', async () => {
    const lease = conn.client.lease(60, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    await lease.put('/cas/leased').value('v1');
    const seen = (await readValue(conn, b('/cas/leased')))!;
    assert.equal(seen.lease, leaseId);
    const result = await casPut(conn, b('/cas/leased'), b('v2'), seen.modRevision);
    assert.ok(result.ok);
    const after = (await readValue(conn, b('/cas/leased')))!;
    assert.equal(after.value.toString(), 'v2');
    assert.equal(after.lease, leaseId, 'lease kept');
    await lease.revoke();
  });

  it('creates only when absent, deletes only when unchanged', async () => {
    assert.ok((await createKey(conn, b('/cas/new'), b('x'))).ok);
    const dup = await createKey(conn, b('/cas/new'), b('y'));
    assert.equal(dup.ok, false);
    assert.equal((await readValue(conn, b('/cas/new')))!.value.toString(), 'x');
    const seen = (await readValue(conn, b('/cas/new')))!;
    await other.write('put', (c) => c.put('/cas/new').value('changed').exec());
    assert.equal((await deleteKey(conn, b('/cas/new'), seen.modRevision)).ok, false);
    assert.ok(await readValue(conn, b('/cas/new')), 'not deleted');
    const latest = (await readValue(conn, b('/cas/new')))!;
    assert.ok((await deleteKey(conn, b('/cas/new'), latest.modRevision)).ok);
    assert.equal(await readValue(conn, b('/cas/new')), undefined);
  });

  it('renames in one guarded Txn', async () => {
    await createKey(conn, b('/cas/from'), b('payload'));
    await createKey(conn, b('/cas/taken'), b('t'));
    const from = (await readValue(conn, b('/cas/from')))!;
    assert.deepEqual(
      await copyKey(conn, from, b('/cas/taken'), { deleteSource: true }).then((r) => r.reason),
      'targetExists',
    );
    const ok = await copyKey(conn, from, b('/cas/to'), { deleteSource: true });
    assert.ok(ok.ok);
    assert.equal(await readValue(conn, b('/cas/from')), undefined);
    assert.equal((await readValue(conn, b('/cas/to')))!.value.toString(), 'payload');
  });

  it('aborts a guarded prefix delete when a key is added after the preview', async () => {
    for (let i = 0; i < 10; i++) await createKey(conn, b(`/doomed/k${i}`), b('v'));
    const preview = await previewPrefixDelete(conn, b('/doomed/'), 5);
    assert.equal(preview.count, 10);
    assert.equal(preview.sample.length, 5);
    await other.write('put', (c) => c.put('/doomed/late').value('v').exec());
    const aborted = await deletePrefixGuarded(conn, preview);
    assert.equal(aborted.ok, false);
    const count = await conn.call('count', (c) => c.getAll().prefix('/doomed/').count());
    assert.equal(count, 11, 'nothing deleted');
    const fresh = await previewPrefixDelete(conn, b('/doomed/'));
    const done = await deletePrefixGuarded(conn, fresh);
    assert.ok(done.ok && done.deleted === 11);
  });

  it('round-trips a binary value byte-exactly and refuses an oversize value before sending', async () => {
    const bytes = randomBytes(64 * 1024);
    bytes[0] = 0xff;
    bytes[1] = 0x00;
    assert.ok((await createKey(conn, Buffer.from([0x2f, 0xff, 0x00]), bytes)).ok);
    const back = (await readValue(conn, Buffer.from([0x2f, 0xff, 0x00])))!;
    assert.ok(back.value.equals(bytes));

    let calls = 0;
    const sub = conn.onDidCall(() => calls++);
    await assert.rejects(
      casPut(conn, b('/cas/huge'), Buffer.alloc(2 * 1024 * 1024, 1), '0'),
      (err: unknown) =>
        err instanceof EtcdExplorerError && err.kind === 'valueTooLarge' && /2\.00 MiB/.test(err.message),
    );
    sub.dispose();
    assert.equal(calls, 0, 'nothing was sent');
    assert.equal(await readValue(conn, b('/cas/huge')), undefined);
  });

  it('refuses every write on a read-only profile', async () => {
    const ro = new EtcdConnection(
      { id: 'ro', name: 'ro', endpoints: cluster.endpoints, readOnly: true },
      {},
      silentLogger,
    );
    try {
      const isReadOnly = (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'readOnly';
      await createKey(conn, b('/ro/kept'), b('1'));
      const kept = (await readValue(conn, b('/ro/kept')))!;
      await assert.rejects(createKey(ro, b('/ro/x'), b('1')), isReadOnly);
      await assert.rejects(deleteKey(ro, b('/ro/kept'), kept.modRevision), isReadOnly);
      await assert.rejects(deletePrefixGuarded(ro, await previewPrefixDelete(ro, b('/ro/'))), isReadOnly);
      assert.equal((await readValue(conn, b('/ro/kept')))?.modRevision, kept.modRevision, 'still there, unchanged');
      assert.equal(await readValue(conn, b('/ro/x')), undefined);
    } finally {
      await ro.close();
    }
  });

  it('walks history back to creation, and reports where compaction cut it', async () => {
    const key = b('/hist/k');
    for (let i = 1; i <= 5; i++) await conn.write('put', (c) => c.put(key).value(`v${i}`).exec());
    const full = await keyHistory(conn, key);
    assert.deepEqual(
      full.versions.map((v) => v.value.toString()),
      ['v5', 'v4', 'v3', 'v2', 'v1'],
    );
    assert.equal(full.compacted, false);
    assert.equal(await compactRevision(conn), undefined, 'nothing compacted yet');

    const v3 = full.versions[2];
    await conn.call('compact', (c) => c.kv.compact({ revision: v3.modRevision, physical: true }));
    const cut = await keyHistory(conn, key);
    assert.deepEqual(
      cut.versions.map((v) => v.value.toString()),
      ['v5', 'v4', 'v3'],
    );
    assert.equal(cut.compacted, true);
    assert.equal(cut.compactedBefore, v3.modRevision, 'the compaction revision is reported');
  });

  it('lists keys deleted under a folder since an earlier revision, with their values', async () => {
    for (const k of ['a', 'b', 'c']) await createKey(conn, b(`/undel/${k}`), b(`value-${k}`));
    const since = (await readValue(conn, b('/undel/c')))!.modRevision;
    const a = (await readValue(conn, b('/undel/a')))!;
    await deleteKey(conn, b('/undel/a'), a.modRevision);
    // Deleted and created again: present now, so not listed; created after `since`: never listed.
    const bee = (await readValue(conn, b('/undel/b')))!;
    await deleteKey(conn, b('/undel/b'), bee.modRevision);
    await createKey(conn, b('/undel/b'), b('again'));
    await createKey(conn, b('/undel/late'), b('new'));
    const deleted = await deletedSince(conn, b('/undel/'), since);
    assert.deepEqual(
      deleted.map((d) => d.key.toString()),
      ['/undel/a'],
    );
    assert.equal(deleted[0].lastValue.value.toString(), 'value-a');
    assert.ok((await createKey(conn, deleted[0].key, deleted[0].lastValue.value)).ok, 'restored');
  });
});
