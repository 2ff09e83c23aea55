import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { HealthDoctor } from '../../src/etcd/health';
import { Finding, HealthReport, RuleId } from '../../src/etcd/health/model';
import { renderHealthReport } from '../../src/etcd/health/report';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { contradictions } from '../unit/healthConsistency';
import { checkUntil, doctorFor, evaluated } from './healthHelpers';

registerCleanup();

const LIGHT = { thorough: false };
const finding = (r: HealthReport, rule: RuleId): Finding | undefined => r.findings.find((f) => f.rule === rule);

/**
 * The doctor over time on real etcd, with short windows and `for:` durations (the mixin's are minutes): each
 * test is a sequence of checks, and every report of it is checked for findings that contradict their evidence.
 */
describe('health doctor over time (real etcd, 3 members)', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  /** A light check whose report must not contradict itself. */
  async function checked(doctor: HealthDoctor): Promise<HealthReport> {
    const r = await doctor.check(undefined, LIGHT);
    assert.deepEqual(contradictions(r, doctor.thresholds), [], JSON.stringify(r.findings, null, 1));
    return r;
  }
  const until = (doctor: HealthDoctor, done: (r: HealthReport) => boolean, what: string, ms = 60_000) =>
    checkUntil(
      doctor,
      (r) => (assert.deepEqual(contradictions(r, doctor.thresholds), [], JSON.stringify(r.findings, null, 1)), done(r)),
      what,
      ms,
      undefined,
      LIGHT,
    );

  it('a killed member: pending → firing → restarted: resolved, "was unreachable (recovered)" → resolved, all on the timeline', async () => {
    const { doctor, dispose } = doctorFor(cluster, {
      thresholds: { membersDownWindowMs: 15_000, forMs: { membersDown: { critical: 4000 } } },
    });
    try {
      await until(doctor, (r) => evaluated(r, 'peerSendFailures'), 'a history covering the peer-send window');

      await cluster.kill(1);
      const pending = await checked(doctor);
      const p = finding(pending, 'membersDown');
      assert.ok(p, JSON.stringify(pending.findings));
      assert.equal(p.title, '1 of 3 members is down');
      assert.equal(p.member, 'm1');
      assert.equal(p.severity, 'info', 'pending until it held for its for:');
      assert.equal(p.alert?.state, 'pending');
      assert.equal(p.alert?.firesAs, 'critical');
      assert.equal(p.alert?.firesAt, p.alert!.since + 4000);
      assert.match(renderHealthReport(pending, 'three'), /### Pending \\\(critical\\\): 1 of 3 members is down/);

      const firing = await until(
        doctor,
        (r) => finding(r, 'membersDown')?.alert?.state === 'firing',
        'membersDown to fire',
      );
      const f = finding(firing, 'membersDown')!;
      assert.equal(f.severity, 'critical');
      assert.equal(f.alert?.since, p.alert!.since, 'one run since the first check that saw it');
      assert.ok(firing.snapshot.takenAt - p.alert!.since >= 4000);

      await cluster.restart(1);
      const recovering = await checked(doctor);
      assert.equal(finding(recovering, 'membersDown'), undefined, 'm1 answers: not down');
      const down = recovering.timeline.find((e) => e.rule === 'membersDown')!;
      assert.equal(down.active, false);
      assert.equal(down.severity, 'critical');
      assert.equal(down.startedAt, p.alert!.since);
      assert.equal(down.firedAt, f.alert!.firedAt);
      assert.equal(down.resolvedAt, recovering.snapshot.takenAt);
      const recently = finding(recovering, 'peerSendFailures');
      assert.ok(
        recently,
        `its peers failed to send to m1 while it was down: ${JSON.stringify(recovering.findings)} ${JSON.stringify(recovering.checks.find((c) => c.rule === 'peerSendFailures'))}`,
      );
      assert.equal(recently.member, 'm1');
      assert.equal(recently.severity, 'info');
      assert.match(recently.title, /m1 (was unreachable from .* \(recovered\)|answers Status now)/);
      assert.match(
        renderHealthReport(recovering, 'three'),
        /## Timeline\n[^]*Members down\\: 1 of 3 members is down \| [\d\\:]+ \| [\d\\:]+ \\\(critical\\\) \| [\d\\:]+ \|/,
      );

      const resolved = await until(
        doctor,
        (r) => !finding(r, 'peerSendFailures') && !finding(r, 'membersDown'),
        'the peer-send failures to leave their window',
      );
      const sends = resolved.timeline.find((e) => e.rule === 'peerSendFailures')!;
      assert.equal(sends.resolvedAt, resolved.snapshot.takenAt);
      assert.equal(sends.severity, 'info', 'never more than info');
    } finally {
      await dispose();
    }
  });

  it('a frozen member (SIGSTOP: connections open, no answers) is down within one check, and not after it thaws', async () => {
    const { doctor, dispose } = doctorFor(cluster);
    try {
      await checked(doctor);
      cluster.freeze(2);
      try {
        const r = await checked(doctor);
        const f = finding(r, 'membersDown');
        assert.ok(f, JSON.stringify(r.findings));
        assert.equal(f.member, 'm2');
        assert.equal(f.title, '1 of 3 members is down');
        assert.equal(f.alert?.state, 'pending', "the mixin's 10 min have not passed");
      } finally {
        cluster.thaw(2);
      }
      await until(doctor, (r) => !finding(r, 'membersDown'), 'm2 to answer again');
    } finally {
      await dispose();
    }
  });

  describe('failed gRPC requests', () => {
    /**
     * MoveLeader sent to a follower: etcd answers "not leader" (FailedPrecondition, a code the mixin counts as
     * failed) at once, from the member itself. Returns the member's name.
     */
    async function failedRequests(n: number): Promise<string> {
      const follower = ((await cluster.leaderIndex()) + 1) % 3;
      const conn = new EtcdConnection(
        { id: 'g', name: 'g', endpoints: [cluster.endpoints[follower]], timeoutMs: 5000, retries: 0 },
        {},
        silentLogger,
      );
      try {
        const self = (await conn.call('status', (c) => c.maintenance.status())).header.member_id;
        for (let i = 0; i < n; i++) {
          await assert.rejects(
            conn.call('move the leader', (c) => c.maintenance.moveLeader({ targetID: self })),
            /not leader/,
          );
        }
      } finally {
        await conn.close();
      }
      return `m${follower}`;
    }
    const thresholds = { grpcFailuresWindowMs: 8000, forMs: { grpcFailures: { warning: 3000, critical: 3000 } } };

    it('a single failed request is no finding: too few requests to judge', async () => {
      const { doctor, dispose } = doctorFor(cluster, { thresholds });
      try {
        await until(doctor, (r) => evaluated(r, 'grpcFailures'), 'a history covering the gRPC window');
        const name = await failedRequests(1);
        // Until the doctor has judged the failure (its note names it), and every check on the way: no finding.
        const judged = await until(
          doctor,
          (r) => {
            assert.equal(finding(r, 'grpcFailures'), undefined, JSON.stringify(r.findings));
            return (r.checks.find((c) => c.rule === 'grpcFailures')?.note ?? '').includes(
              `MoveLeader on ${name}: 1 of 1 failed (needs 100 requests)`,
            );
          },
          'the doctor to see the failed request',
        );
        assert.match(judged.checks.find((c) => c.rule === 'grpcFailures')!.note!, /Too few requests to judge/);
      } finally {
        await dispose();
      }
    });

    it('many failed requests: pending → firing (critical) → resolved once they leave the window', async () => {
      const { doctor, dispose } = doctorFor(cluster, { thresholds });
      try {
        await until(doctor, (r) => evaluated(r, 'grpcFailures'), 'a history covering the gRPC window');
        const name = await failedRequests(150);
        const pending = await until(doctor, (r) => finding(r, 'grpcFailures') !== undefined, 'the failures to be seen');
        const p = finding(pending, 'grpcFailures')!;
        assert.equal(p.member, name);
        assert.equal(p.title, `100.0 % of MoveLeader requests failed on ${name}`);
        assert.equal(p.alert?.state, 'pending');
        const firing = await until(
          doctor,
          (r) => finding(r, 'grpcFailures')?.alert?.state === 'firing',
          'the failures to fire',
        );
        assert.equal(finding(firing, 'grpcFailures')!.severity, 'critical');
        const resolved = await until(doctor, (r) => !finding(r, 'grpcFailures'), 'the failures to leave the window');
        const entry = resolved.timeline.find((e) => e.rule === 'grpcFailures')!;
        assert.deepEqual([entry.severity, entry.resolvedAt], ['critical', resolved.snapshot.takenAt]);
      } finally {
        await dispose();
      }
    });
  });
});
