import * as assert from 'node:assert/strict';
import { extractMetrics } from '../../src/etcd/health';
import {
  Buckets,
  DEFAULT_THRESHOLDS,
  Finding,
  HealthReport,
  HealthSnapshot,
  HealthThresholds,
  MemberMetrics,
  MemberSnapshot,
  RuleId,
} from '../../src/etcd/health/model';
import { escapeMarkdown, renderHealthReport } from '../../src/etcd/health/report';
import { evaluate } from '../../src/etcd/health/rules';

const MiB = 1024 * 1024;
const T0 = 1_700_000_000_000;

/** Cumulative buckets from per-bucket counts, e.g. {0.1: 90, 0.6: 10} (the rest of the bounds stay flat). */
function hist(counts: Record<number, number>): Buckets {
  const bounds = [0.001, 0.01, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, Infinity];
  let sum = 0;
  return bounds.map((le) => ({ le, count: (sum += counts[le] ?? 0) }));
}

function metrics(m: Partial<MemberMetrics> = {}): MemberMetrics {
  return { hasLeader: 1, leaderChanges: 1, proposalsFailed: 0, processStartTime: 1000, dbTotalBytes: MiB, quotaBytes: 2048 * MiB, peerRoundTrip: {}, peerSentFailures: {}, grpcHandled: {}, ...m };
}

interface MemberOpts {
  id?: string;
  up?: boolean;
  noEndpoint?: boolean;
  learner?: boolean;
  version?: string;
  leader?: string;
  dbSize?: number;
  inUse?: number;
  raftIndex?: number;
  applied?: number;
  term?: number;
  metrics?: Partial<MemberMetrics> | null;
}

const ID: Record<string, string> = { m0: '10', m1: '11', m2: '12' };

function member(name: string, o: MemberOpts = {}): MemberSnapshot {
  const id = o.id ?? ID[name] ?? '99';
  const endpoint = o.noEndpoint ? undefined : `http://127.0.0.1:${2379 + Number(id)}`;
  return {
    key: id,
    id,
    name,
    endpoint,
    isLearner: o.learner ?? false,
    status: !endpoint
      ? undefined
      : o.up === false
        ? { ok: false, endpoint, error: 'Could not read the status: unreachable' }
        : {
            ok: true,
            endpoint,
            memberId: id,
            version: o.version ?? '3.4.23',
            dbSize: o.dbSize ?? 1 * MiB,
            dbSizeInUse: o.inUse ?? 1 * MiB,
            leader: o.leader ?? '10',
            raftTerm: String(o.term ?? 2),
            raftIndex: String(o.raftIndex ?? o.applied ?? 100),
            raftAppliedIndex: String(o.applied ?? 100),
            errors: [],
            isLearner: o.learner ?? false,
          },
    metrics: o.up === false || o.metrics === null || !endpoint ? undefined : metrics(o.metrics),
  };
}

function snap(at: number, members: MemberSnapshot[], extra: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return { takenAt: at, members, membersSource: 'memberList', alarms: [], ...extra };
}

const healthy = (at = T0, m: Partial<Record<string, MemberOpts>> = {}) => snap(at, ['m0', 'm1', 'm2'].map((n) => member(n, m[n])));

function run(s: HealthSnapshot, history: HealthSnapshot[] = [], t: Partial<HealthThresholds> = {}) {
  return evaluate(s, history, { ...DEFAULT_THRESHOLDS, ...t });
}
const find = (r: { findings: Finding[] }, rule: RuleId) => r.findings.filter((f) => f.rule === rule);
const check = (r: ReturnType<typeof run>, rule: RuleId) => r.checks.find((c) => c.rule === rule)!;

describe('health rules', () => {
  it('a healthy cluster has no findings, and every rule appears in the checks', () => {
    const r = run(healthy(), [healthy(T0 - 20 * 60_000), healthy(T0 - 60_000)], { dbGrowthMinSpanMs: 0 });
    assert.deepEqual(r.findings, []);
    assert.equal(r.checks.length, 17);
    assert.deepEqual(r.checks.filter((c) => !c.evaluated).map((c) => c.rule), ['hashMismatch', 'largeValues']);
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

    it('counts a member its peers fail to send to above 0.01/s, not below', () => {
      const at = (t: number, failures: number) => snap(t, [member('m0', { metrics: { peerSentFailures: { c: failures } } }), member('m1'), member('m2')]);
      // 12 decimal = c hex. 100 s apart: 2 failures = 0.02/s, 1 failure = 0.01/s (not above).
      assert.equal(find(run(at(T0, 2), [at(T0 - 100_000, 0)]), 'membersDown')[0]?.member, 'm2');
      assert.deepEqual(find(run(at(T0, 1), [at(T0 - 100_000, 0)]), 'membersDown'), []);
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
    const at = (t: number, changes: number, start = 1000) => healthy(t, { m0: { metrics: { leaderChanges: changes, processStartTime: start } } });

    it('needs an earlier check in the window', () => {
      assert.equal(check(run(at(T0, 10)), 'leaderChanges').evaluated, false);
      assert.equal(check(run(at(T0, 10), [at(T0 - 16 * 60_000, 0)]), 'leaderChanges').evaluated, false);
    });

    it('fires at 4 changes within 15 minutes, not at 3', () => {
      assert.deepEqual(find(run(at(T0, 4), [at(T0 - 60_000, 1)]), 'leaderChanges'), []);
      const [f] = find(run(at(T0, 5), [at(T0 - 60_000, 1)]), 'leaderChanges');
      assert.equal(f.severity, 'warning');
      assert.match(f.title, /^4 leader changes/);
    });

    it('sums increases over every check in the window and survives a restart', () => {
      // 1 → 3 (+2), restart (new start time): counter 2 counts as +2 → 4.
      const r = run(at(T0, 2, 2000), [at(T0 - 120_000, 1), at(T0 - 60_000, 3)]);
      assert.match(find(r, 'leaderChanges')[0]?.title ?? '', /^4 leader changes/);
      // Without the start time the drop alone shows the reset.
      const dropped = run(at(T0, 2, 1000), [at(T0 - 120_000, 1), at(T0 - 60_000, 3)]);
      assert.match(find(dropped, 'leaderChanges')[0]?.title ?? '', /^4 leader changes/);
    });
  });

  describe('fsync and backend commit durations', () => {
    const fsyncAt = (t: number, buckets: Buckets) => healthy(t, { m1: { metrics: { fsync: buckets } } });

    it('fsync p99: 0.5 s is fine, above warns, above 1 s is critical', () => {
      assert.deepEqual(find(run(fsyncAt(T0, hist({ 0.01: 99, 0.4: 1 }))), 'fsyncSlow'), []);
      const warn = find(run(fsyncAt(T0, hist({ 0.01: 90, 0.8: 10 }))), 'fsyncSlow');
      assert.equal(warn[0].severity, 'warning');
      assert.equal(warn[0].member, 'm1');
      assert.equal(find(run(fsyncAt(T0, hist({ 0.01: 90, 2: 10 }))), 'fsyncSlow')[0].severity, 'critical');
    });

    it('uses only the observations since the earliest check in the window', () => {
      const slowPast = hist({ 0.01: 10, 2: 10 });
      const nowFast = hist({ 0.01: 500, 2: 10 });
      assert.deepEqual(find(run(fsyncAt(T0, nowFast), [fsyncAt(T0 - 60_000, slowPast)]), 'fsyncSlow'), []);
      // Without the earlier check, the cumulative histogram (since start) is all there is: 10 of 510 are slow.
      const r = run(fsyncAt(T0, nowFast));
      assert.match(find(r, 'fsyncSlow')[0].evidence[0], /since the member started/);
    });

    it('backend commit p99 above 0.25 s warns', () => {
      const at = (b: Buckets) => healthy(T0, { m2: { metrics: { backendCommit: b } } });
      assert.deepEqual(find(run(at(hist({ 0.01: 99, 0.2: 1 }))), 'backendCommitSlow'), []);
      assert.equal(find(run(at(hist({ 0.01: 90, 0.4: 10 }))), 'backendCommitSlow')[0].severity, 'warning');
    });

    it('peer round trip p99 above 0.15 s warns, naming the peer', () => {
      const r = run(healthy(T0, { m0: { metrics: { peerRoundTrip: { b: hist({ 0.01: 90, 0.4: 10 }), c: hist({ 0.01: 100 }) } } } }));
      const [f, ...rest] = find(r, 'peerRoundTripSlow');
      assert.equal(rest.length, 0);
      assert.match(f.title, /from m0 to m1/);
    });
  });

  describe('grpcFailures', () => {
    const at = (t: number, total: number, failed: number) => healthy(t, { m0: { metrics: { grpcHandled: { Put: { total, failed }, Range: { total: total * 10, failed: 0 } } } } });

    it('needs an earlier check in the window', () => {
      assert.equal(check(run(at(T0, 100, 50)), 'grpcFailures').evaluated, false);
    });

    it('1 % is fine, above warns, above 5 % is critical (per method, over the window)', () => {
      const base = at(T0 - 60_000, 1000, 500);
      assert.deepEqual(find(run(at(T0, 1100, 501), [base]), 'grpcFailures'), []);
      const warn = find(run(at(T0, 1100, 502), [base]), 'grpcFailures');
      assert.equal(warn[0].severity, 'warning');
      assert.match(warn[0].title, /^2\.0 % of Put requests failed on m0/);
      assert.equal(find(run(at(T0, 1100, 506), [base]), 'grpcFailures')[0].severity, 'critical');
    });
  });

  describe('proposalsFailed', () => {
    const at = (t: number, n: number) => healthy(t, { m2: { metrics: { proposalsFailed: n } } });
    it('fires above 5 per second', () => {
      assert.deepEqual(find(run(at(T0, 500), [at(T0 - 100_000, 0)]), 'proposalsFailed'), []);
      assert.equal(find(run(at(T0, 501), [at(T0 - 100_000, 0)]), 'proposalsFailed')[0].member, 'm2');
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
      assert.equal(check(run(healthy(T0, { m0: noQuota, m1: noQuota, m2: noQuota })), 'quotaLowSpace').evaluated, false);
    });
  });

  describe('dbGrowth', () => {
    const at = (t: number, size: number) => healthy(t, { m0: { metrics: { dbTotalBytes: size, quotaBytes: 2048 * MiB } } });
    it('warns when the linear trend reaches the quota within 4 h', () => {
      // +100 MiB per 10 min = 600 MiB/h → 2400 MiB more in 4 h.
      const history = [at(T0 - 20 * 60_000, 100 * MiB), at(T0 - 10 * 60_000, 200 * MiB)];
      const [f] = find(run(at(T0, 300 * MiB), history), 'dbGrowth');
      assert.equal(f?.severity, 'warning');
      assert.match(f.evidence[0], /growing 600\.00 MiB\/h/);
      // 10 MiB per 10 min stays far below.
      assert.deepEqual(find(run(at(T0, 120 * MiB), [at(T0 - 20 * 60_000, 100 * MiB), at(T0 - 10 * 60_000, 110 * MiB)]), 'dbGrowth'), []);
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
      const r = run(healthy(T0, { m1: { dbSize: 4 * MiB, inUse: 0.1 * MiB } }), [], { fragmentationMinInUseBytes: 1024 });
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
      assert.deepEqual(find(run(healthy(T0, { m0: { applied: 10_000 }, m1: { applied: 5000 }, m2: { applied: 9000 } })), 'appliedIndexLag'), []);
      const [f, ...rest] = find(run(healthy(T0, { m0: { applied: 10_001 }, m1: { applied: 5000 }, m2: { applied: 10_001 } })), 'appliedIndexLag');
      assert.equal(rest.length, 0);
      assert.equal(f.member, 'm1');
      assert.equal(f.title, 'm1 is 5001 raft entries behind');
    });
    it('fires on a member whose own apply backlog exceeds the limit', () => {
      const [f] = find(run(healthy(T0, { m2: { raftIndex: 16_000, applied: 10_000 }, m0: { applied: 10_000 }, m1: { applied: 10_000 } })), 'appliedIndexLag');
      assert.equal(f?.member, 'm2');
    });
  });

  describe('hashMismatch', () => {
    const withHashes = (hashes: Array<[string, string, string]>) =>
      run({ ...healthy(), hash: { revision: '500', members: hashes.map(([name, hash, compactRevision]) => ({ name, hash, compactRevision })) } });

    it('equal hashes pass and the check ran', () => {
      const r = withHashes([['m0', '1', '7'], ['m1', '1', '7'], ['m2', '1', '7']]);
      assert.deepEqual(find(r, 'hashMismatch'), []);
      assert.equal(check(r, 'hashMismatch').evaluated, true);
    });

    it('a different hash is critical and names the odd member', () => {
      const [f] = find(withHashes([['m0', '1', '7'], ['m1', '2', '7'], ['m2', '1', '7']]), 'hashMismatch');
      assert.equal(f.severity, 'critical');
      assert.equal(f.member, 'm1');
      assert.match(f.title, /revision 500/);
    });

    it('is not comparable while compact revisions differ', () => {
      const r = withHashes([['m0', '1', '7'], ['m1', '2', '9'], ['m2', '1', '7']]);
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
        largeValues: { thresholdBytes: 512 * 1024, scanned, total, revision: '9', large: bytes.map((b, i) => ({ key: `/k${i}`, bytes: b })), largeCount: bytes.length, stoppedBecause },
      });
    it('reports values of the threshold or more, largest first', () => {
      const [f] = find(scan([MiB, 512 * 1024]), 'largeValues');
      assert.match(f.title, /^2 values of 512\.0 KiB or more \(largest 1\.00 MiB\)/);
      assert.deepEqual(f.evidence.slice(0, 2), ['/k0: 1.00 MiB', '/k1: 512.0 KiB']);
      assert.deepEqual(find(scan([]), 'largeValues'), []);
    });
    it('says how much of the keyspace a capped scan covered', () => {
      assert.match(check(scan([], 10_000, 25_000, 'the scan stops after 10000 keys'), 'largeValues').note!, /scanned 10000 of 25000 keys/);
    });
  });

  it('sorts findings critical, warning, info', () => {
    const r = run(healthy(T0, { m0: { version: '3.5.0' }, m2: { up: false } }));
    assert.deepEqual(r.findings.map((f) => f.severity), ['critical', 'warning']);
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
    assert.deepEqual(m.fsync, [{ le: 0.001, count: 3 }, { le: Infinity, count: 4 }]);
  });
});

describe('health report (Markdown)', () => {
  const hostile = '<img src=x onerror=alert(1)> [click](http://evil.example) **bold** | x\n# injected';

  function report(): HealthReport {
    const snapshot = snap(T0, [member(hostile, { up: false }), member('m1'), member('m2')], { alarms: undefined, alarmsError: '<script>x</script>' });
    const { findings, checks } = evaluate(snapshot, [], DEFAULT_THRESHOLDS);
    return { checkedAt: T0, durationMs: 12, findings, checks, snapshot };
  }

  it('has the title, counts, each finding with evidence and remedy, the members and the skipped checks', () => {
    const md = renderHealthReport(report(), 'prod');
    assert.match(md, /^# etcd health: prod\n/);
    assert.match(md, /\*\*1 critical, 0 warning, 0 info\*\*/);
    assert.match(md, /### Critical: 1 of 3 members is down/);
    assert.match(md, /\*\*What to do:\*\* Check the member process/);
    assert.ok(md.includes('`systemctl status etcd`'), 'commands in a remedy stay code spans');
    assert.ok(md.includes('| m1 | http\\:\\/\\/127\\.0\\.0\\.1\\:2390 | up | 3\\.4\\.23 | a |'), 'member row (leader shown by hex id when not a member)');
    assert.match(md, /## Checks that could not run\n/);
    assert.ok(md.includes('- Alarms: Could not list alarms\\: &lt;script&gt;x&lt;\\/script&gt;'), md);
  });

  it('escapes names from the cluster so they cannot inject HTML, links, headings or table cells', () => {
    const md = renderHealthReport(report(), `${hostile} conn`);
    assert.ok(!md.includes('<img') && !md.includes('<script'), md);
    assert.ok(!/^#+ injected/m.test(md), 'no heading from a name');
    // Every member row still has exactly 9 cell separators: the pipe in the name is escaped.
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Member') && !l.startsWith('| ---'));
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
