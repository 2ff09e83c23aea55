import * as assert from 'node:assert/strict';
import { extractMetrics } from '../../src/etcd/health';
import { Buckets, DEFAULT_THRESHOLDS, HealthReport } from '../../src/etcd/health/model';
import { MiB, T0, check, find, healthy, hist, member, run, snap } from './healthFixtures';
import { escapeMarkdown, renderHealthReport } from '../../src/etcd/health/report';
import { evaluate } from '../../src/etcd/health/rules';

describe('health rules', () => {
  it('a healthy cluster has no findings, and every rule appears in the checks', () => {
    const r = run(healthy(), [healthy(T0 - 20 * 60_000), healthy(T0 - 60_000)], { dbGrowthMinSpanMs: 0 });
    assert.deepEqual(r.findings, []);
    assert.equal(r.checks.length, 18);
    assert.deepEqual(
      r.checks.filter((c) => !c.evaluated).map((c) => c.rule),
      ['hashMismatch', 'largeValues'],
    );
  });

  describe('membersDown', () => {
    it('reports one unreachable member of three, naming it', () => {
      const [f, ...rest] = find(run(healthy(T0, { m1: { up: false } })), 'membersDown');
      assert.equal(rest.length, 0);
      assert.equal(f.title, '1 of 3 members is down');
      assert.equal(f.member, 'm1');
      assert.equal(f.severity, 'critical');
      assert.ok(f.evidence.some((e) => e.includes('unreachable')));
    });

    it('counts a member that never started (no client URL) as down', () => {
      const r = run(snap(T0, [member('m0'), member('m1'), member('', { id: '12', noEndpoint: true })]));
      assert.equal(find(r, 'membersDown')[0].title, '1 of 3 members is down');
    });

    it('is about now: a member that answers Status is not down, whatever its peers failed to send it', () => {
      const at = (t: number, failures: number, up = true) =>
        snap(t, [member('m0', { metrics: { peerSentFailures: { c: failures } } }), member('m1'), member('m2', { up })]);
      const window = { membersDownWindowMs: 120_000 };
      // 12 decimal = c hex. 120 s apart: 3 failures = 0.025/s.
      const answering = run(at(T0, 3), [at(T0 - 120_000, 0)], window);
      assert.deepEqual(find(answering, 'membersDown'), []);
      const [down] = find(run(at(T0, 3, false), [at(T0 - 120_000, 0)], window), 'membersDown');
      assert.equal(down.member, 'm2');
      assert.ok(down.evidence.includes('m0 failed 3 sends to m2 in the last 2 min (0.03/s)'), down.evidence.join('\n'));
      assert.ok(down.evidence.includes('2 of 3 members answered Status'));
    });
  });

  describe('peerSendFailures', () => {
    const at = (t: number, failures: number) =>
      snap(t, [member('m0', { metrics: { peerSentFailures: { c: failures } } }), member('m1'), member('m2')]);
    const window = { membersDownWindowMs: 120_000 };

    it('a member its peers failed to send to above 0.01/s over 2 min, answering now, was unreachable (recovered): info', () => {
      const [f, ...rest] = find(run(at(T0, 3), [at(T0 - 120_000, 0), at(T0 - 60_000, 3)], window), 'peerSendFailures');
      assert.equal(rest.length, 0);
      assert.equal(f.severity, 'info');
      assert.equal(f.member, 'm2');
      assert.equal(f.title, 'm2 was unreachable from m0 in the last 2 min (recovered)');
      assert.ok(f.evidence.includes('m2 answered Status now'));
    });

    it('says when sends still fail since the previous check, without calling it down', () => {
      const [f] = find(run(at(T0, 3), [at(T0 - 120_000, 0), at(T0 - 60_000, 1)], window), 'peerSendFailures');
      assert.equal(f.title, 'm0 failed to send to m2 in the last 2 min; m2 answers Status now');
      assert.equal(f.severity, 'info');
    });

    it('not above 0.01/s is nothing; a single failure in 2 min is 0.008/s', () => {
      assert.deepEqual(find(run(at(T0, 1), [at(T0 - 120_000, 0)], window), 'peerSendFailures'), []);
    });

    it('needs the window of history: one failure 6.7 s after the first check is not judged', () => {
      const r = run(at(T0, 1), [at(T0 - 6_700, 0)], window);
      assert.deepEqual(find(r, 'peerSendFailures'), []);
      assert.equal(check(r, 'peerSendFailures').evaluated, false);
      assert.match(check(r, 'peerSendFailures').note!, /^Needs 2 min of history \(has 6\.7 s\)/);
    });
  });

  describe('insufficientMembers', () => {
    it('fires below quorum only', () => {
      assert.deepEqual(find(run(healthy(T0, { m2: { up: false } })), 'insufficientMembers'), []);
      const [f] = find(run(healthy(T0, { m1: { up: false }, m2: { up: false } })), 'insufficientMembers');
      assert.equal(f.title, 'Only 1 of 3 voting members are up: quorum needs 2');
    });

    it('does not count learners as voters', () => {
      const r = run(snap(T0, [member('m0'), member('m1', { up: false }), member('m2', { learner: true })]));
      assert.equal(find(r, 'insufficientMembers')[0].title, 'Only 1 of 2 voting members are up: quorum needs 2');
    });

    it('is not evaluated when the member list is unknown', () => {
      const r = run({ ...healthy(), membersSource: 'profile', membersError: 'no quorum' });
      assert.equal(check(r, 'insufficientMembers').evaluated, false);
      assert.match(check(r, 'insufficientMembers').note!, /no quorum/);
    });
  });

  describe('noLeader', () => {
    it('fires when a member reports leader 0 or etcd_server_has_leader 0', () => {
      assert.equal(find(run(healthy(T0, { m0: { leader: '0' } })), 'noLeader')[0].member, 'm0');
      assert.equal(find(run(healthy(T0, { m2: { metrics: { hasLeader: 0 } } })), 'noLeader')[0].member, 'm2');
      assert.deepEqual(find(run(healthy()), 'noLeader'), []);
    });

    it('is not evaluated when no member answers', () => {
      const r = run(healthy(T0, { m0: { up: false }, m1: { up: false }, m2: { up: false } }));
      assert.equal(check(r, 'noLeader').evaluated, false);
    });
  });

  describe('leaderChanges', () => {
    const at = (t: number, changes: number, start = 1000) =>
      healthy(t, { m0: { metrics: { leaderChanges: changes, processStartTime: start } } });

    it('needs 15 min of history', () => {
      assert.equal(check(run(at(T0, 10)), 'leaderChanges').evaluated, false);
      assert.equal(check(run(at(T0, 10), [at(T0 - 14 * 60_000, 0)]), 'leaderChanges').evaluated, false);
      assert.equal(check(run(at(T0, 10), [at(T0 - 15 * 60_000, 0)]), 'leaderChanges').evaluated, true);
    });

    it('fires at 4 changes within 15 minutes, not at 3', () => {
      assert.deepEqual(find(run(at(T0, 4), [at(T0 - 15 * 60_000, 1)]), 'leaderChanges'), []);
      const [f] = find(run(at(T0, 5), [at(T0 - 15 * 60_000, 1)]), 'leaderChanges');
      assert.equal(f.severity, 'warning');
      assert.match(f.title, /^4 leader changes/);
    });

    it('sums increases over every check in the window and survives a restart', () => {
      // 1 → 3 (+2), restart (new start time): counter 2 counts as +2 → 4.
      const w = { leaderChangesWindowMs: 120_000 };
      const r = run(at(T0, 2, 2000), [at(T0 - 120_000, 1), at(T0 - 60_000, 3)], w);
      assert.match(find(r, 'leaderChanges')[0]?.title ?? '', /^4 leader changes/);
      // Without the start time the drop alone shows the reset.
      const dropped = run(at(T0, 2, 1000), [at(T0 - 120_000, 1), at(T0 - 60_000, 3)], w);
      assert.match(find(dropped, 'leaderChanges')[0]?.title ?? '', /^4 leader changes/);
    });
  });

  describe('fsync and backend commit durations', () => {
    const fsyncAt = (t: number, buckets: Buckets) => healthy(t, { m1: { metrics: { fsync: buckets } } });
    /** The observations over the 5 min window: a base with an empty histogram 5 min earlier. */
    const over5min = (s: ReturnType<typeof healthy>) => run(s, [healthy(T0 - 5 * 60_000)]);

    it('fsync p99: 0.5 s is fine, above warns, above 1 s is critical', () => {
      assert.deepEqual(find(over5min(fsyncAt(T0, hist({ 0.01: 99, 0.4: 1 }))), 'fsyncSlow'), []);
      const warn = find(over5min(fsyncAt(T0, hist({ 0.01: 90, 0.8: 10 }))), 'fsyncSlow');
      assert.equal(warn[0].severity, 'warning');
      assert.equal(warn[0].member, 'm1');
      assert.equal(find(over5min(fsyncAt(T0, hist({ 0.01: 90, 2: 10 }))), 'fsyncSlow')[0].severity, 'critical');
    });

    it('uses only the observations inside the window, and needs the window of history', () => {
      const slowPast = hist({ 0.01: 10, 2: 10 });
      const nowFast = hist({ 0.01: 500, 2: 10 });
      assert.deepEqual(find(run(fsyncAt(T0, nowFast), [fsyncAt(T0 - 5 * 60_000, slowPast)]), 'fsyncSlow'), []);
      const early = run(fsyncAt(T0, nowFast), [fsyncAt(T0 - 60_000, slowPast)]);
      assert.deepEqual(find(early, 'fsyncSlow'), []);
      assert.match(check(early, 'fsyncSlow').note!, /^Needs 5 min of history \(has 1 min\)/);
    });

    it('a p99 over fewer than 20 observations is too few to judge', () => {
      const r = over5min(fsyncAt(T0, hist({ 0.01: 10, 2: 9 })));
      assert.deepEqual(find(r, 'fsyncSlow'), []);
      assert.match(check(r, 'fsyncSlow').note!, /Too few operations to judge in the last 5 min: m1: 19 operations/);
    });

    it('backend commit p99 above 0.25 s warns', () => {
      const at = (b: Buckets) => healthy(T0, { m2: { metrics: { backendCommit: b } } });
      assert.deepEqual(find(over5min(at(hist({ 0.01: 99, 0.2: 1 }))), 'backendCommitSlow'), []);
      assert.equal(find(over5min(at(hist({ 0.01: 90, 0.4: 10 }))), 'backendCommitSlow')[0].severity, 'warning');
    });

    it('peer round trip p99 above 0.15 s warns, naming the peer', () => {
      const r = over5min(
        healthy(T0, { m0: { metrics: { peerRoundTrip: { b: hist({ 0.01: 90, 0.4: 10 }), c: hist({ 0.01: 100 }) } } } }),
      );
      const [f, ...rest] = find(r, 'peerRoundTripSlow');
      assert.equal(rest.length, 0);
      assert.match(f.title, /from m0 to m1/);
    });
  });

  describe('grpcFailures', () => {
    const at = (t: number, total: number, failed: number) =>
      healthy(t, {
        m0: { metrics: { grpcHandled: { Put: { total, failed }, Range: { total: total * 10, failed: 0 } } } },
      });

    it('needs 5 min of history', () => {
      assert.equal(check(run(at(T0, 100, 50)), 'grpcFailures').evaluated, false);
      assert.equal(check(run(at(T0, 100, 50), [at(T0 - 60_000, 0, 0)]), 'grpcFailures').evaluated, false);
    });

    it('1 % is fine, above warns, above 5 % is critical (per method, over the window)', () => {
      const base = at(T0 - 5 * 60_000, 1000, 500);
      assert.deepEqual(find(run(at(T0, 1100, 501), [base]), 'grpcFailures'), []);
      const warn = find(run(at(T0, 1100, 502), [base]), 'grpcFailures');
      assert.equal(warn[0].severity, 'warning');
      assert.match(warn[0].title, /^2\.00 % of Put requests failed on m0/);
      assert.equal(find(run(at(T0, 1100, 506), [base]), 'grpcFailures')[0].severity, 'critical');
    });

    it('fewer than 100 requests of a method in the window are too few to judge: one failed Alarm of one is no finding', () => {
      const alarmAt = (t: number, total: number, failed: number) =>
        healthy(t, { m0: { metrics: { grpcHandled: { Alarm: { total, failed } } } } });
      const r = run(alarmAt(T0, 1, 1), [alarmAt(T0 - 5 * 60_000, 0, 0)]);
      assert.deepEqual(find(r, 'grpcFailures'), []);
      assert.match(
        check(r, 'grpcFailures').note!,
        /Too few requests to judge in the last 5 min: Alarm on m0: 1 of 1 failed \(needs 100 requests\)/,
      );
      assert.equal(
        find(run(alarmAt(T0, 100, 2), [alarmAt(T0 - 5 * 60_000, 0, 0)]), 'grpcFailures')[0]?.severity,
        'warning',
      );
    });
  });

  describe('proposalsFailed', () => {
    const at = (t: number, n: number) => healthy(t, { m2: { metrics: { proposalsFailed: n } } });
    it('fires above 5 per second', () => {
      const w = { proposalsFailedWindowMs: 100_000 };
      assert.deepEqual(find(run(at(T0, 500), [at(T0 - 100_000, 0)], w), 'proposalsFailed'), []);
      assert.equal(find(run(at(T0, 501), [at(T0 - 100_000, 0)], w), 'proposalsFailed')[0].member, 'm2');
    });
  });

  describe('quotaLowSpace', () => {
    const at = (size: number) => healthy(T0, { m0: { metrics: { dbTotalBytes: size, quotaBytes: 100 * MiB } } });
    it('warns above 80 %, is critical above 95 %', () => {
      assert.deepEqual(find(run(at(80 * MiB)), 'quotaLowSpace'), []);
      assert.equal(find(run(at(81 * MiB)), 'quotaLowSpace')[0].severity, 'warning');
      assert.equal(find(run(at(95 * MiB)), 'quotaLowSpace')[0].severity, 'warning');
      assert.equal(find(run(at(96 * MiB)), 'quotaLowSpace')[0].severity, 'critical');
    });
    it('is not evaluated without the quota metric', () => {
      const noQuota = { metrics: { quotaBytes: undefined } };
      assert.equal(
        check(run(healthy(T0, { m0: noQuota, m1: noQuota, m2: noQuota })), 'quotaLowSpace').evaluated,
        false,
      );
    });
  });

  describe('dbGrowth', () => {
    const at = (t: number, size: number) =>
      healthy(t, { m0: { metrics: { dbTotalBytes: size, quotaBytes: 2048 * MiB } } });
    it('warns when the linear trend reaches the quota within 4 h', () => {
      // +100 MiB per 10 min = 600 MiB/h → 2400 MiB more in 4 h.
      const history = [at(T0 - 20 * 60_000, 100 * MiB), at(T0 - 10 * 60_000, 200 * MiB)];
      const [f] = find(run(at(T0, 300 * MiB), history), 'dbGrowth');
      assert.equal(f?.severity, 'warning');
      assert.match(f.evidence[0], /growing 600\.00 MiB\/h/);
      // 10 MiB per 10 min stays far below.
      assert.deepEqual(
        find(run(at(T0, 120 * MiB), [at(T0 - 20 * 60_000, 100 * MiB), at(T0 - 10 * 60_000, 110 * MiB)]), 'dbGrowth'),
        [],
      );
    });
    it('is not evaluated on too short a history', () => {
      assert.equal(check(run(at(T0, 300 * MiB), [at(T0 - 60_000, 100 * MiB)]), 'dbGrowth').evaluated, false);
    });
  });

  describe('fragmentation', () => {
    const at = (dbSize: number, inUse: number) => run(healthy(T0, { m1: { dbSize, inUse } }));
    it('fires below 50 % in use while more than 100 MiB are in use', () => {
      assert.equal(find(at(300 * MiB, 101 * MiB), 'fragmentation')[0].member, 'm1');
      assert.deepEqual(find(at(300 * MiB, 100 * MiB), 'fragmentation'), []);
      assert.deepEqual(find(at(202 * MiB, 101 * MiB), 'fragmentation'), []);
    });
    it('the minimum size is a threshold', () => {
      const r = run(healthy(T0, { m1: { dbSize: 4 * MiB, inUse: 0.1 * MiB } }), [], {
        fragmentationMinInUseBytes: 1024,
      });
      assert.match(find(r, 'fragmentation')[0].remedy, /etcdctl defrag --endpoints=http:\/\/127\.0\.0\.1:2390/);
    });
  });

  describe('mixedVersions', () => {
    it('lists members per version', () => {
      assert.deepEqual(find(run(healthy()), 'mixedVersions'), []);
      const [f] = find(run(healthy(T0, { m2: { version: '3.5.9' } })), 'mixedVersions');
      assert.deepEqual(f.evidence, ['3.4.23: m0, m1', '3.5.9: m2']);
    });
  });

  describe('appliedIndexLag', () => {
    it('fires when a member trails the most advanced one by more than 5000 entries', () => {
      assert.deepEqual(
        find(
          run(healthy(T0, { m0: { applied: 10_000 }, m1: { applied: 5000 }, m2: { applied: 9000 } })),
          'appliedIndexLag',
        ),
        [],
      );
      const [f, ...rest] = find(
        run(healthy(T0, { m0: { applied: 10_001 }, m1: { applied: 5000 }, m2: { applied: 10_001 } })),
        'appliedIndexLag',
      );
      assert.equal(rest.length, 0);
      assert.equal(f.member, 'm1');
      assert.equal(f.title, 'm1 is 5001 raft entries behind');
    });
    it('fires on a member whose own apply backlog exceeds the limit', () => {
      const [f] = find(
        run(
          healthy(T0, { m2: { raftIndex: 16_000, applied: 10_000 }, m0: { applied: 10_000 }, m1: { applied: 10_000 } }),
        ),
        'appliedIndexLag',
      );
      assert.equal(f?.member, 'm2');
    });
  });

  describe('hashMismatch', () => {
    const withHashes = (hashes: Array<[string, string, string]>) =>
      run({
        ...healthy(),
        hash: {
          revision: '500',
          members: hashes.map(([name, hash, compactRevision]) => ({ name, hash, compactRevision })),
        },
      });

    it('equal hashes pass and the check ran', () => {
      const r = withHashes([
        ['m0', '1', '7'],
        ['m1', '1', '7'],
        ['m2', '1', '7'],
      ]);
      assert.deepEqual(find(r, 'hashMismatch'), []);
      assert.equal(check(r, 'hashMismatch').evaluated, true);
    });

    it('a different hash is critical and names the odd member', () => {
      const [f] = find(
        withHashes([
          ['m0', '1', '7'],
          ['m1', '2', '7'],
          ['m2', '1', '7'],
        ]),
        'hashMismatch',
      );
      assert.equal(f.severity, 'critical');
      assert.equal(f.member, 'm1');
      assert.match(f.title, /revision 500/);
    });

    it('is not comparable while compact revisions differ', () => {
      const r = withHashes([
        ['m0', '1', '7'],
        ['m1', '2', '9'],
        ['m2', '1', '7'],
      ]);
      assert.deepEqual(find(r, 'hashMismatch'), []);
      assert.equal(check(r, 'hashMismatch').evaluated, false);
      assert.match(check(r, 'hashMismatch').note!, /compact revisions/);
    });
  });

  describe('alarms', () => {
    it('each alarm is critical and names the member', () => {
      const [f] = find(run({ ...healthy(), alarms: [{ memberId: '11', alarm: 'NOSPACE' }] }), 'alarms');
      assert.equal(f.title, 'NOSPACE alarm raised by m1');
      assert.match(f.remedy, /alarm disarm/);
    });
    it('an unanswered alarm list is a note, not a finding', () => {
      const r = run({ ...healthy(), alarms: undefined, alarmsError: 'no quorum' });
      assert.deepEqual(find(r, 'alarms'), []);
      assert.match(check(r, 'alarms').note!, /no quorum/);
    });
  });

  describe('largeValues', () => {
    const scan = (bytes: number[], scanned = 10, total = 10, stoppedBecause?: string) =>
      run({
        ...healthy(),
        largeValues: {
          thresholdBytes: 512 * 1024,
          scanned,
          total,
          revision: '9',
          large: bytes.map((b, i) => ({ key: `/k${i}`, bytes: b })),
          largeCount: bytes.length,
          stoppedBecause,
        },
      });
    it('reports values of the threshold or more, largest first', () => {
      const [f] = find(scan([MiB, 512 * 1024]), 'largeValues');
      assert.match(f.title, /^2 values of 512\.0 KiB or more \(largest 1\.00 MiB\)/);
      assert.deepEqual(f.evidence.slice(0, 2), ['/k0: 1.00 MiB', '/k1: 512.0 KiB']);
      assert.deepEqual(find(scan([]), 'largeValues'), []);
    });
    it('says how much of the keyspace a capped scan covered', () => {
      assert.match(
        check(scan([], 10_000, 25_000, 'the scan stops after 10000 keys'), 'largeValues').note!,
        /scanned 10000 of 25000 keys/,
      );
    });
  });

  it('sorts findings critical, warning, info', () => {
    const r = run(healthy(T0, { m0: { version: '3.5.0' }, m2: { up: false } }));
    assert.deepEqual(
      r.findings.map((f) => f.severity),
      ['critical', 'warning'],
    );
  });
});

describe('extractMetrics', () => {
  it('keeps the series the rules need, with failed gRPC codes per method', () => {
    const m = extractMetrics(
      [
        '# TYPE etcd_server_has_leader gauge',
        'etcd_server_has_leader 1',
        '# TYPE etcd_mvcc_db_total_size_in_bytes gauge',
        'etcd_mvcc_db_total_size_in_bytes 4096',
        '# TYPE etcd_server_quota_backend_bytes gauge',
        'etcd_server_quota_backend_bytes 2.147483648e+09',
        '# TYPE grpc_server_handled_total counter',
        'grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 90',
        'grpc_server_handled_total{grpc_code="ResourceExhausted",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 7',
        'grpc_server_handled_total{grpc_code="NotFound",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 3',
        '# TYPE etcd_network_peer_sent_failures_total counter',
        'etcd_network_peer_sent_failures_total{To="8e9e05c52164694d"} 12',
        '# TYPE etcd_disk_wal_fsync_duration_seconds histogram',
        'etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 3',
        'etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 4',
        'etcd_disk_wal_fsync_duration_seconds_sum 0.5',
        'etcd_disk_wal_fsync_duration_seconds_count 4',
      ].join('\n'),
    );
    assert.equal(m.hasLeader, 1);
    assert.equal(m.dbTotalBytes, 4096);
    assert.equal(m.quotaBytes, 2147483648);
    assert.deepEqual(m.grpcHandled.Put, { total: 100, failed: 7 });
    assert.deepEqual(m.peerSentFailures, { '8e9e05c52164694d': 12 });
    assert.deepEqual(m.fsync, [
      { le: 0.001, count: 3 },
      { le: Infinity, count: 4 },
    ]);
  });
});

describe('health report (Markdown)', () => {
  const hostile = '<img src=x onerror=alert(1)> [click](http://evil.example) **bold** | x\n# injected';

  function report(): HealthReport {
    const snapshot = snap(T0, [member(hostile, { up: false }), member('m1'), member('m2')], {
      alarms: undefined,
      alarmsError: '<script>x</script>',
    });
    const { findings, checks } = evaluate(snapshot, [], DEFAULT_THRESHOLDS);
    return { checkedAt: T0, durationMs: 12, findings, checks, snapshot, timeline: [] };
  }

  it('has the title, counts, each finding with evidence and remedy, the members and the skipped checks', () => {
    const md = renderHealthReport(report(), 'prod');
    assert.match(md, /^# etcd health: prod\n/);
    assert.match(md, /\*\*1 critical, 0 warning, 0 info, 0 pending\*\*/);
    assert.match(md, /### Critical: 1 of 3 members is down/);
    assert.match(md, /\*\*What to do:\*\* Check the member process/);
    assert.ok(md.includes('`systemctl status etcd`'), 'commands in a remedy stay code spans');
    assert.ok(
      md.includes('| m1 | http\\:\\/\\/127\\.0\\.0\\.1\\:2390 | up | 3\\.4\\.23 | a |'),
      'member row (leader shown by hex id when not a member)',
    );
    assert.match(md, /## Checks that could not run\n/);
    assert.ok(md.includes('- Alarms: Could not list alarms\\: &lt;script&gt;x&lt;\\/script&gt;'), md);
  });

  it('escapes names from the cluster so they cannot inject HTML, links, headings or table cells', () => {
    const md = renderHealthReport(report(), `${hostile} conn`);
    assert.ok(!md.includes('<img') && !md.includes('<script'), md);
    assert.ok(!/^#+ injected/m.test(md), 'no heading from a name');
    // Every member row still has exactly 9 cell separators: the pipe in the name is escaped.
    const rows = md
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| Member') && !l.startsWith('| ---'));
    assert.equal(rows.length, 3);
    for (const row of rows) assert.equal(row.replace(/\\\|/g, '').split('|').length - 1, 9, row);

    // Rendered the way VS Code's Markdown preview renders it (markdown-it with linkify): no tag, no link.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by this test
    const MarkdownIt = require('markdown-it');
    const html: string = new MarkdownIt({ html: true, linkify: true }).render(md);
    assert.ok(!/<img|<script|<a /i.test(html), html);
    assert.ok(!/<strong>bold<\/strong>/.test(html), 'no emphasis from a name');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is shown literally');
  });

  it('escapeMarkdown leaves plain words alone and escapes every Markdown character', () => {
    assert.equal(escapeMarkdown('plain words 123'), 'plain words 123');
    assert.equal(escapeMarkdown('a_b*c`d<e>&'), 'a\\_b\\*c\\`d&lt;e&gt;&amp;');
  });
});
