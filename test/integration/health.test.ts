import * as assert from 'node:assert/strict';
import { MemberClients, compact, defragment, disarmAlarms } from '../../src/etcd/cluster';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { HealthDoctor } from '../../src/etcd/health';
import { renderHealthReport } from '../../src/etcd/health/report';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup, startBlackhole, startDeadEndpoint } from '../rig/etcd';
import { until } from '../rig/wait';
import { checkUntil, doctorFor, evaluated, has, sleep } from './healthHelpers';

registerCleanup();

async function revisionOf(conn: EtcdConnection): Promise<string> {
  return (await conn.call('rev', (c) => c.kv.range({ key: Buffer.from('/'), count_only: true }))).header.revision;
}

describe('health doctor (real etcd)', function () {
  this.timeout(120_000);

  describe('3 members', () => {
    let cluster: EtcdCluster;
    let writer: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start({ size: 3 });
      writer = new EtcdConnection(
        { id: 'w', name: 'w', endpoints: cluster.endpoints, timeoutMs: 2000 },
        {},
        silentLogger,
      );
    });
    after(async () => {
      await writer?.close();
      await cluster?.stop();
    });

    it('compares HashKV across all members at a common revision and finds a healthy cluster', async () => {
      for (let i = 0; i < 30; i++) await writer.write('put', (c) => c.put(`/h/${i}`).value(`v${i}`).exec());
      const { doctor, dispose } = doctorFor(cluster);
      try {
        const r = await doctor.check();
        assert.ok(evaluated(r, 'hashMismatch'), JSON.stringify(r.checks));
        assert.equal(r.snapshot.hash?.members.length, 3);
        assert.equal(new Set(r.snapshot.hash!.members.map((m) => m.hash)).size, 1);
        assert.ok(BigInt(r.snapshot.hash!.revision) >= 31n);
        assert.deepEqual(r.findings, [], JSON.stringify(r.findings));
        for (const rule of [
          'membersDown',
          'insufficientMembers',
          'noLeader',
          'mixedVersions',
          'appliedIndexLag',
          'alarms',
          'largeValues',
          'quotaLowSpace',
        ] as const) {
          assert.ok(evaluated(r, rule), `${rule} evaluated`);
        }
        // A first check has no history: windowed rules say so instead of judging on nothing.
        assert.match(r.checks.find((c) => c.rule === 'fsyncSlow')!.note ?? '', /^Needs 5 min of history/);
        assert.equal(r.snapshot.members.filter((m) => m.metrics).length, 3, 'every member scraped');
        assert.match(renderHealthReport(r, 'three'), /No findings/);
      } finally {
        await dispose();
      }
    });

    it('reports a very large value with its key and size, and stops once it is deleted', async () => {
      const { doctor, dispose } = doctorFor(cluster);
      try {
        await writer.write('put', (c) =>
          c
            .put('/big/blob')
            .value(Buffer.alloc(1024 * 1024, 1))
            .exec(),
        );
        const r = await doctor.check();
        const f = r.findings.find((x) => x.rule === 'largeValues');
        assert.ok(f, JSON.stringify(r.findings));
        assert.ok(
          f.evidence.some((e) => e.includes('/big/blob') && e.includes('1.00 MiB')),
          f.evidence.join('\n'),
        );
        const scan = r.snapshot.largeValues!;
        assert.equal(scan.scanned, scan.total, 'the whole (small) keyspace was scanned');
        assert.ok(scan.total >= 31);

        await writer.write('delete', (c) => c.delete().key('/big/blob').exec());
        assert.ok(!has(await doctor.check(), 'largeValues'));
      } finally {
        await dispose();
      }
    });

    it('light checks (the periodic ones) skip HashKV and the value scan and reuse their last results', async () => {
      const { doctor, dispose } = doctorFor(cluster);
      try {
        const first = await doctor.check(undefined, { thorough: false });
        for (const rule of ['hashMismatch', 'largeValues'] as const) {
          const check = first.checks.find((c) => c.rule === rule)!;
          assert.equal(check.evaluated, false, rule);
          assert.match(check.note ?? '', /checks you start/);
        }
        await writer.write('put', (c) =>
          c
            .put('/big/light')
            .value(Buffer.alloc(600 * 1024, 2))
            .exec(),
        );
        assert.ok(has(await doctor.check(), 'largeValues'), 'a thorough check scans');
        await writer.write('delete', (c) => c.delete().key('/big/light').exec());
        const light = await doctor.check(undefined, { thorough: false });
        assert.ok(has(light, 'largeValues'), 'a light check reads no values: it keeps the last scan');
        assert.ok(light.snapshot.hash, 'and the last HashKV comparison');
        assert.ok(!has(await doctor.check(), 'largeValues'), 'the next thorough check sees the delete');
      } finally {
        await dispose();
      }
    });

    it('bounds the value scan by the key cap and says how much it covered', async () => {
      const { doctor, dispose } = doctorFor(cluster, { thresholds: { largeValueScanMaxKeys: 7 } });
      try {
        const r = await doctor.check();
        assert.equal(r.snapshot.largeValues!.scanned, 7);
        const check = r.checks.find((c) => c.rule === 'largeValues')!;
        assert.match(check.note ?? '', new RegExp(`scanned 7 of ${r.snapshot.largeValues!.total} keys`));
      } finally {
        await dispose();
      }
    });

    it('reports lost quorum and no leader with two of three members killed, and recovers', async () => {
      const { doctor, dispose } = doctorFor(cluster, { thresholds: { membersDownWindowMs: 1500 } });
      try {
        await cluster.kill(1);
        await cluster.kill(2);
        const r = await checkUntil(
          doctor,
          (x) => has(x, 'insufficientMembers') && has(x, 'noLeader'),
          'insufficientMembers and noLeader',
        );
        const quorum = r.findings.find((x) => x.rule === 'insufficientMembers')!;
        assert.equal(quorum.title, 'Only 1 of 3 voting members are up: quorum needs 2');
        assert.equal(quorum.alert?.state, 'pending', 'the mixin fires it after 3 min');
        assert.equal(quorum.alert?.firesAs, 'critical');
        assert.ok(has(r, 'membersDown'));
        assert.ok(!evaluated(r, 'hashMismatch'), 'one member cannot be compared');

        await Promise.all([cluster.restart(1), cluster.restart(2)]);
        await checkUntil(
          doctor,
          (x) => !has(x, 'insufficientMembers') && !has(x, 'noLeader') && !has(x, 'membersDown'),
          'quorum findings to clear',
        );
      } finally {
        await dispose();
      }
    });

    it('reports frequent leader changes from killing the leader repeatedly, and stops after the window', async () => {
      const windowMs = 12_000;
      const { doctor, dispose } = doctorFor(cluster, {
        thresholds: { leaderChangesWindowMs: windowMs, leaderChangesMax: 3, forMs: { leaderChanges: { warning: 0 } } },
      });
      try {
        // The rule judges once the history covers its window.
        const first = await checkUntil(
          doctor,
          (x) => evaluated(x, 'leaderChanges'),
          'a history covering the window',
          30_000,
          () => sleep(500),
        );
        assert.ok(!has(first, 'leaderChanges'));
        for (let round = 0; round < 3; round++) {
          const leader = await cluster.leaderIndex();
          await cluster.kill(leader, 'SIGTERM');
          await until(async () => (await cluster.leaderIndex()) !== leader, 10_000, 'a new leader');
          await cluster.restart(leader);
        }
        const r = await doctor.check();
        const f = r.findings.find((x) => x.rule === 'leaderChanges');
        assert.ok(f, JSON.stringify(r.findings) + JSON.stringify(r.checks));
        assert.equal(f.severity, 'warning');

        // A check in the middle of the next window becomes the baseline once the changes are older than the window.
        await sleep(windowMs / 2);
        await doctor.check();
        await sleep(windowMs / 2 + 500);
        const later = await doctor.check();
        assert.ok(evaluated(later, 'leaderChanges'));
        assert.ok(!has(later, 'leaderChanges'), JSON.stringify(later.findings));
      } finally {
        await dispose();
      }
    });
  });

  it('never throws for an unreachable cluster: a dead and a blackholed endpoint become findings and notes; only cancelling throws', async () => {
    const hole = await startBlackhole();
    const dead = await startDeadEndpoint();
    const conn = new EtcdConnection(
      { id: 'x', name: 'x', endpoints: [dead, hole.endpoint], timeoutMs: 400, retries: 0 },
      {},
      silentLogger,
    );
    const clients = new MemberClients(conn);
    try {
      const doctor = new HealthDoctor(conn, clients);
      const r = await doctor.check();
      assert.equal(r.snapshot.membersSource, 'profile');
      assert.equal(r.findings.find((f) => f.rule === 'membersDown')?.title, '2 of 2 members are down');
      assert.ok(
        r.snapshot.members.every((m) => m.metricsError),
        'both scrapes failed',
      );
      for (const rule of [
        'insufficientMembers',
        'noLeader',
        'alarms',
        'hashMismatch',
        'largeValues',
        'fsyncSlow',
      ] as const) {
        assert.equal(evaluated(r, rule), false, rule);
        assert.ok(r.checks.find((c) => c.rule === rule)!.note, `${rule} says why`);
      }
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 100);
      await assert.rejects(
        doctor.check(abort.signal),
        (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'cancelled',
      );
    } finally {
      await clients.dispose();
      await conn.close();
      await hole.close();
    }
  });

  describe('NOSPACE', () => {
    let cluster: EtcdCluster;
    let writer: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start({ quotaBackendBytes: 2 * 1024 * 1024 });
      writer = new EtcdConnection({ id: 'q', name: 'q', endpoints: cluster.endpoints, retries: 0 }, {}, silentLogger);
    });
    after(async () => {
      await writer?.close();
      await cluster?.stop();
    });

    it('reports the alarm and the full quota, and stops once space is freed and the alarm disarmed', async () => {
      const { doctor, dispose } = doctorFor(cluster);
      try {
        const before = await doctor.check();
        assert.ok(!has(before, 'alarms') && !has(before, 'quotaLowSpace'), JSON.stringify(before.findings));
        const value = Buffer.alloc(100 * 1024, 7);
        let error: unknown;
        for (let i = 0; i < 200 && !error; i++) {
          try {
            await writer.write('put', (c) => c.put(`/fill/${i}`).value(value).exec());
          } catch (err) {
            error = err;
          }
        }
        assert.ok(error instanceof EtcdExplorerError && error.kind === 'noSpace', String(error));
        const r = await doctor.check();
        const alarm = r.findings.find((x) => x.rule === 'alarms');
        assert.ok(alarm && /NOSPACE/.test(alarm.title), JSON.stringify(r.findings));
        assert.ok(has(r, 'quotaLowSpace'), JSON.stringify(r.findings));

        const admin = doctorConn(cluster);
        try {
          await admin.write('delete', (c) => c.delete().prefix('/fill/').exec());
          await compact(admin, await revisionOf(admin), true);
          await defragment(admin);
          assert.equal(await disarmAlarms(admin), 1);
        } finally {
          await admin.close();
        }
        const after = await doctor.check();
        assert.ok(!has(after, 'alarms') && !has(after, 'quotaLowSpace'), JSON.stringify(after.findings));
        assert.ok(evaluated(after, 'alarms') && evaluated(after, 'quotaLowSpace'));
      } finally {
        await dispose();
      }
    });
  });

  describe('fragmentation', () => {
    let cluster: EtcdCluster;
    let writer: EtcdConnection;
    before(async () => {
      cluster = await EtcdCluster.start();
      writer = new EtcdConnection({ id: 'f', name: 'f', endpoints: cluster.endpoints }, {}, silentLogger);
    });
    after(async () => {
      await writer?.close();
      await cluster?.stop();
    });

    it('reports a fragmented database after mass delete and compaction, and stops after defragment', async () => {
      const { doctor, dispose } = doctorFor(cluster, { thresholds: { fragmentationMinInUseBytes: 8 * 1024 } });
      try {
        const value = Buffer.alloc(8 * 1024, 3);
        await Promise.all(
          Array.from({ length: 4 }, async (_, w) => {
            for (let i = w; i < 400; i += 4)
              await writer.write('put', (c) =>
                c
                  .put(`/frag/${String(i).padStart(4, '0')}`)
                  .value(value)
                  .exec(),
              );
          }),
        );
        const full = await doctor.check();
        assert.ok(!has(full, 'fragmentation'), JSON.stringify(full.findings));

        await writer.write('delete', (c) => c.delete().prefix('/frag/').exec());
        await compact(writer, await revisionOf(writer), true);
        // bbolt counts the freed pages as free only after the next backend commit: give it one.
        let n = 0;
        const r = await checkUntil(
          doctor,
          (x) => has(x, 'fragmentation'),
          'fragmentation',
          10_000,
          () => writer.write('put', (c) => c.put(`/after/${n++}`).value('x').exec()),
        );
        const f = r.findings.find((x) => x.rule === 'fragmentation')!;
        assert.equal(f.member, 'm0');
        assert.match(f.remedy, /etcdctl defrag --endpoints=http:\/\/127\.0\.0\.1:\d+/);

        await defragment(writer);
        const after = await doctor.check();
        assert.ok(evaluated(after, 'fragmentation'));
        assert.ok(!has(after, 'fragmentation'), JSON.stringify(after.findings));
      } finally {
        await dispose();
      }
    });
  });
});

function doctorConn(cluster: EtcdCluster): EtcdConnection {
  return new EtcdConnection({ id: 'a', name: 'a', endpoints: cluster.endpoints, retries: 0 }, {}, silentLogger);
}
