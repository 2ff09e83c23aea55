import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import {
  KeepAliveSession,
  KeepAliveState,
  grantLease,
  inspectLease,
  keepAliveOnce,
  leaseHex,
  listLeases,
  lockGroups,
  parseLeaseId,
  remainingTtl,
  revokeLease,
} from '../../src/etcd/leases';
import { readValue } from '../../src/etcd/values';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { until } from '../rig/wait';

registerCleanup();

describe('leases (real etcd)', function () {
  this.timeout(120_000);

  describe('single member', () => {
    let cluster: EtcdCluster;
    let conn: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start();
      conn = new EtcdConnection({ id: 'l', name: 'l', endpoints: cluster.endpoints }, {}, silentLogger);
    });
    after(async () => {
      await conn?.close();
      await cluster?.stop();
    });

    it('lists the same leases as `etcdctl lease list`, with keys and hex ids', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push(await grantLease(conn, 300 + i));
      await conn.write('put', (c) => c.put('/svc/a').value('1').lease(ids[0]).exec());
      await conn.write('put', (c) => c.put('/svc/b').value('2').lease(ids[0]).exec());
      const leases = await listLeases(conn);
      const ctl = await cluster.etcdctl(['lease', 'list']);
      assert.equal(ctl.code, 0, ctl.stderr);
      const ctlIds = ctl.stdout
        .split('\n')
        .slice(1)
        .map((l) => l.trim())
        .filter(Boolean)
        .sort();
      assert.deepEqual(leases.map((l) => leaseHex(l.id)).sort(), ctlIds);
      const first = leases.find((l) => l.id === ids[0])!;
      assert.deepEqual(first.keys.map((k) => k.toString()).sort(), ['/svc/a', '/svc/b']);
      assert.equal(parseLeaseId(leaseHex(ids[0])), ids[0]);
      assert.equal(parseLeaseId(`0x${leaseHex(ids[0])}`), ids[0]);
    });

    it('counts the remaining TTL down locally within 1 s of TimeToLive', async () => {
      const id = await grantLease(conn, 30);
      const seen = await inspectLease(conn, id);
      await new Promise((r) => setTimeout(r, 2200));
      const local = remainingTtl(seen);
      const server = (await inspectLease(conn, id)).ttl;
      assert.ok(Math.abs(local - server) <= 1, `local ${local.toFixed(2)} vs server ${server}`);
      assert.ok(local < 29, 'it did count down');
    });

    it('revoke deletes the attached keys', async () => {
      const id = await grantLease(conn, 60);
      await conn.write('put', (c) => c.put('/rev/x').value('1').lease(id).exec());
      assert.ok(await readValue(conn, Buffer.from('/rev/x')));
      await revokeLease(conn, id);
      assert.equal(await readValue(conn, Buffer.from('/rev/x')), undefined);
      await assert.rejects(keepAliveOnce(conn, id), /no longer exists/);
    });

    it('keeps a lease alive once and reports a lost lease without re-granting it', async () => {
      const id = await grantLease(conn, 5);
      assert.equal(await keepAliveOnce(conn, id), 5);
      const session = new KeepAliveSession(conn, id, 5);
      const states: KeepAliveState['state'][] = [];
      session.onDidChange((s) => states.push(s.state));
      session.start();
      await until(() => states.includes('alive'), 5_000, 'alive');
      const before = (await listLeases(conn)).length;
      await revokeLease(conn, id);
      await until(() => session.state.state === 'lost', 10_000, 'lost');
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal((await listLeases(conn)).length, before - 1, 'no lease was granted behind the user');
      session.stop();
    });

    it('lists 10,000 leases in throttled batches, reporting progress as it goes', async function () {
      this.timeout(180_000);
      const before = (await conn.call('leases', (c) => c.leaseClient.leaseLeases())).leases.length;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 10_000) {
            next++;
            await grantLease(conn, 600);
          }
        }),
      );
      const progress: number[] = [];
      const all = await listLeases(conn, { concurrency: 8, onProgress: (done) => progress.push(done) });
      assert.equal(all.length, before + 10_000);
      assert.equal(progress.length, all.length, 'progress after every lease');
      assert.equal(progress[progress.length - 1], all.length);
      assert.ok(all.every((l) => l.ttl > 0 || l.ttl === -1));
    });

    it('groups lock and election keys with the holder (lowest create revision) and waiters', async () => {
      const l1 = await grantLease(conn, 60);
      const l2 = await grantLease(conn, 60);
      await conn.write('put', (c) =>
        c
          .put(`/locks/ledger/${leaseHex(l2)}`)
          .value('')
          .lease(l2)
          .exec(),
      );
      await conn.write('put', (c) =>
        c
          .put(`/locks/ledger/${leaseHex(l1)}`)
          .value('')
          .lease(l1)
          .exec(),
      );
      const [group] = await lockGroups(conn, Buffer.from('/locks/'));
      assert.equal(group.name.toString(), '/locks/ledger/');
      assert.equal(group.holder.key.toString(), `/locks/ledger/${leaseHex(l2)}`);
      assert.deepEqual(
        group.waiters.map((w) => w.key.toString()),
        [`/locks/ledger/${leaseHex(l1)}`],
      );
    });
  });

  describe('3 members', () => {
    let cluster: EtcdCluster;
    let conn: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start({ size: 3 });
      conn = new EtcdConnection(
        { id: 'l3', name: 'l3', endpoints: cluster.endpoints, timeoutMs: 2000, retries: 3 },
        {},
        silentLogger,
      );
    });
    after(async () => {
      await conn?.close();
      await cluster?.stop();
    });

    it('continuous keep-alive survives a leader SIGKILL (the lease and its key live on)', async () => {
      const id = await grantLease(conn, 4);
      await conn.write('put', (c) => c.put('/ka/instance').value('up').lease(id).exec());
      const session = new KeepAliveSession(conn, id, 4);
      const states: KeepAliveState['state'][] = [];
      session.onDidChange((s) => states.push(s.state));
      session.start();
      await until(() => states.includes('alive'), 5_000, 'alive');
      const leader = await cluster.leaderIndex();
      await cluster.kill(leader, 'SIGKILL');
      // Twice the TTL: without working keep-alives the lease would expire.
      await new Promise((r) => setTimeout(r, 9000));
      assert.notEqual(session.state.state, 'lost');
      await cluster.restart(leader);
      await until(() => session.state.state === 'alive', 15_000, 'alive after restart');
      const info = await inspectLease(conn, id);
      assert.ok(info.ttl > 0, 'lease still granted');
      assert.ok(await readValue(conn, Buffer.from('/ka/instance')), 'its key survived');
      session.stop();
    });
  });
});
