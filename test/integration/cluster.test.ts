import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  MemberClients,
  compact,
  saveSnapshot,
  defragment,
  disarmAlarms,
  hashKv,
  listAlarms,
  listMembers,
  memberEndpoints,
  memberHex,
  memberStatuses,
} from '../../src/etcd/cluster';
import { HealthDoctor } from '../../src/etcd/health';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup, startDeadEndpoint } from '../rig/etcd';

registerCleanup();

describe('cluster core (real etcd)', function () {
  this.timeout(120_000);

  describe('3 members', () => {
    let cluster: EtcdCluster;
    let conn: EtcdConnection;
    let clients: MemberClients;
    before(async () => {
      cluster = await EtcdCluster.start({ size: 3 });
      conn = new EtcdConnection(
        { id: 'c', name: 'c', endpoints: cluster.endpoints, timeoutMs: 2000 },
        {},
        silentLogger,
      );
      clients = new MemberClients(conn);
    });
    after(async () => {
      await clients?.dispose();
      await conn?.close();
      await cluster?.stop();
    });

    it('lists members like `etcdctl member list`, with hex ids', async () => {
      const members = await listMembers(conn);
      const ctl = await cluster.etcdctl(['member', 'list']);
      const ctlIds = ctl.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(',')[0].trim())
        .sort();
      assert.deepEqual(members.map((m) => memberHex(m.id)).sort(), ctlIds);
      assert.deepEqual(members.map((m) => m.name).sort(), ['m0', 'm1', 'm2']);
    });

    it('asks each member for its own status, and reports a killed member as unreachable without failing', async () => {
      const all = await memberStatuses(clients, cluster.endpoints);
      assert.ok(all.every((s) => s.ok));
      const ids = new Set(all.map((s) => (s.ok ? s.memberId : '')));
      assert.equal(ids.size, 3, 'three different members answered');
      assert.equal(new Set(all.map((s) => (s.ok ? s.leader : ''))).size, 1, 'they agree on the leader');

      await cluster.kill(2, 'SIGKILL');
      try {
        const partial = await memberStatuses(clients, cluster.endpoints);
        assert.equal(partial.filter((s) => s.ok).length, 2);
        const dead = partial.find((s) => !s.ok);
        assert.ok(dead && !dead.ok && dead.endpoint === cluster.endpoints[2]);
        assert.match(dead.error, /unreachable|no answer|paused/);
      } finally {
        await cluster.restart(2);
      }
    });

    it('computes HashKV per member (working around etcd3), equal at a common revision', async () => {
      for (let i = 0; i < 20; i++) await conn.write('put', (c) => c.put(`/h/${i}`).value(String(i)).exec());
      const rev = (await conn.call('rev', (c) => c.kv.range({ key: Buffer.from('/h/0') }))).header.revision;
      const hashes = await Promise.all(cluster.endpoints.map((e) => hashKv(clients.for(e), rev)));
      assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, JSON.stringify(hashes));
      assert.ok(hashes[0].hash !== '0');
    });

    it('saves a snapshot of a member to a file', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'etcd-snap-')), 'member.db');
      const progress: number[] = [];
      const bytes = await saveSnapshot(clients.for(cluster.endpoints[0]), file, {
        onProgress: (w) => progress.push(w),
      });
      assert.ok(bytes > 10_000);
      assert.equal(statSync(file).size, bytes);
      assert.ok(progress.length > 0);
      const status = await cluster.etcdctl(['snapshot', 'status', file, '-w', 'json']);
      assert.equal(status.code, 0, status.stderr);
      assert.ok(JSON.parse(status.stdout).totalKey > 20, 'etcdctl reads the snapshot');
      rmSync(dirname(file), { recursive: true, force: true });
    });
  });

  describe('NOSPACE', () => {
    let cluster: EtcdCluster;
    let conn: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start({ quotaBackendBytes: 2 * 1024 * 1024 });
      conn = new EtcdConnection({ id: 'q', name: 'q', endpoints: cluster.endpoints, retries: 0 }, {}, silentLogger);
    });
    after(async () => {
      await conn?.close();
      await cluster?.stop();
    });

    it('reports the NOSPACE alarm clearly, and recovers by delete + compact + defragment + disarm', async () => {
      const value = Buffer.alloc(100 * 1024, 7);
      let error: unknown;
      for (let i = 0; i < 200 && !error; i++) {
        try {
          await conn.write('put', (c) => c.put(`/fill/${i}`).value(value).exec());
        } catch (err) {
          error = err;
        }
      }
      assert.ok(error instanceof EtcdExplorerError && error.kind === 'noSpace', String(error));
      assert.match((error as Error).message, /NOSPACE/);
      const alarms = await listAlarms(conn);
      assert.equal(alarms.length, 1);
      assert.match(alarms[0].alarm, /NOSPACE/i);

      await conn.write('delete', (c) => c.delete().prefix('/fill/').exec());
      const rev = (await conn.call('rev', (c) => c.kv.range({ key: Buffer.from('/x') }))).header.revision;
      await compact(conn, rev, true);
      await defragment(conn);
      assert.equal(await disarmAlarms(conn), 1);
      assert.deepEqual(await listAlarms(conn), []);
      await new Promise((r) => setTimeout(r, 3500)); // the circuit opened by RESOURCE_EXHAUSTED half-opens
      await conn.write('put', (c) => c.put('/after').value('ok').exec());
    });
  });

  describe('members reached through the profile endpoint (port-forward, NAT)', () => {
    let cluster: EtcdCluster;
    let conn: EtcdConnection;
    let clients: MemberClients;
    let dead: string;
    before(async () => {
      dead = await startDeadEndpoint();
      // The member advertises a client URL nobody can reach, as a pod IP looks from a laptop.
      cluster = await EtcdCluster.start({ extraArgs: [`--advertise-client-urls=${dead}`] });
      conn = new EtcdConnection(
        { id: 'pf', name: 'pf', endpoints: cluster.endpoints, timeoutMs: 1000, retries: 0 },
        {},
        silentLogger,
      );
      clients = new MemberClients(conn);
    });
    after(async () => {
      await clients?.dispose();
      await conn?.close();
      await cluster?.stop();
    });

    it('maps each member to the profile endpoint it answers on, and the doctor sees it up', async () => {
      const members = await listMembers(conn);
      assert.deepEqual(members[0].clientUrls, [dead], 'the advertised URL is the unreachable one');
      const reach = await memberEndpoints(clients, conn.profile.endpoints, members);
      assert.equal(reach.get(members[0].id), cluster.endpoints[0]);
      const report = await new HealthDoctor(conn, clients, { scanLargeValues: false }).check();
      assert.ok(
        !report.findings.some((f) => f.rule === 'membersDown' || f.rule === 'insufficientMembers'),
        JSON.stringify(report.findings.map((f) => f.title)),
      );
      assert.equal(report.snapshot.members[0].endpoint, cluster.endpoints[0]);
    });
  });
});
