import * as assert from 'node:assert/strict';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { HISTOGRAM_BOUNDS_MS, ProbeSample, RollingWindow, operationType } from '../../src/etcd/latency/latency';
import { LOAD_LEVELS } from '../../src/etcd/latency/loadTest';
import { parsePrometheusText } from '../../src/etcd/metrics';
import { MetricsSnapshot, metricsSnapshot, serverSeries } from '../../src/etcd/serverMetrics';

const T0 = 1_700_000_000_000;

function sample(at: number, ms: number, outcome: ProbeSample['outcome'] = 'ok'): ProbeSample {
  return { at, endpoint: 'http://e', op: 'rangeSerializable', ms, outcome };
}

describe('RollingWindow', () => {
  it('gives nearest-rank quantiles, max and mean of a uniform 1..100 ms distribution', () => {
    const w = new RollingWindow(60_000);
    // Shuffled, so the order of arrival does not matter.
    const values = Array.from({ length: 100 }, (_, i) => i + 1).sort((a, b) => ((a * 37) % 101) - ((b * 37) % 101));
    values.forEach((ms, i) => w.add(sample(T0 + i, ms)));
    const s = w.stats(T0 + 100);
    assert.equal(s.count, 100);
    assert.equal(s.p50, 50);
    assert.equal(s.p95, 95);
    assert.equal(s.p99, 99);
    assert.equal(s.max, 100);
    assert.equal(s.mean, 50.5);
    assert.equal(s.errors, 0);
    assert.equal(s.timeouts, 0);
  });

  it('counts errors and timeouts apart and keeps them out of the quantiles', () => {
    const w = new RollingWindow(60_000);
    w.add(sample(T0, 2));
    w.add(sample(T0 + 1, 4));
    w.add(sample(T0 + 2, 5000, 'timeout'));
    w.add(sample(T0 + 3, 0.3, 'error'));
    w.add(sample(T0 + 4, 0.2, 'error'));
    const s = w.stats(T0 + 5);
    assert.deepEqual([s.count, s.errors, s.timeouts, s.max, s.mean], [2, 2, 1, 4, 3]);
  });

  it('is NaN everywhere but the counts when empty', () => {
    const s = new RollingWindow(1000).stats(T0);
    assert.equal(s.count, 0);
    for (const v of [s.p50, s.p95, s.p99, s.max, s.mean]) assert.ok(Number.isNaN(v));
  });

  it('forgets samples older than the window', () => {
    const w = new RollingWindow(10_000);
    for (let i = 0; i < 20; i++) w.add(sample(T0 + i * 1000, i < 10 ? 1000 : 1));
    const s = w.stats(T0 + 19_500);
    // Samples at 10 s..19 s are within (9.5 s, 19.5 s]; the slow ones before are gone.
    assert.equal(s.count, 10);
    assert.equal(s.max, 1);
    assert.equal(w.stats(T0 + 60_000).count, 0);
  });

  it('holds at most maxSamples, dropping the oldest', () => {
    const w = new RollingWindow(3_600_000, 100);
    for (let i = 0; i < 10_000; i++) w.add(sample(T0 + i, i));
    assert.ok(w.size <= 100, `holds ${w.size}`);
    const s = w.stats(T0 + 10_000);
    assert.equal(s.count, 100);
    assert.equal(s.max, 9999);
    assert.equal(s.p50 >= 9900, true);
  });

  it('buckets successful samples on log-spaced bounds with an overflow bucket', () => {
    const w = new RollingWindow(60_000);
    for (const ms of [0.05, 0.1, 0.15, 0.9, 1, 3, 30, 30, 99_999]) w.add(sample(T0, ms));
    w.add(sample(T0, 1, 'error'));
    const h = w.histogram(T0 + 1);
    assert.deepEqual(h.bounds, [...HISTOGRAM_BOUNDS_MS]);
    assert.equal(h.counts.length, h.bounds.length + 1);
    const countAt = (bound: number) => h.counts[h.bounds.indexOf(bound)];
    assert.equal(countAt(0.1), 2);
    assert.equal(countAt(0.2), 1);
    assert.equal(countAt(1), 2);
    assert.equal(countAt(5), 1);
    assert.equal(countAt(50), 2);
    assert.equal(h.counts[h.counts.length - 1], 1);
    assert.equal(
      h.counts.reduce((a, b) => a + b, 0),
      9,
    );
    for (let i = 1; i < h.bounds.length; i++)
      assert.ok(h.bounds[i] / h.bounds[i - 1] <= 2.5 && h.bounds[i] > h.bounds[i - 1]);
  });

  it('refuses a window that cannot hold anything', () => {
    assert.throws(
      () => new RollingWindow(0),
      (e: unknown) => e instanceof EtcdExplorerError && e.kind === 'invalid',
    );
    assert.throws(
      () => new RollingWindow(1000, 0),
      (e: unknown) => e instanceof EtcdExplorerError && e.kind === 'invalid',
    );
  });
});

function scrape(opts: {
  committed: number;
  failed: number;
  fsync: [number, number, number];
  handledPut: number;
  leaderChanges?: number;
}): string {
  const [a, b, c] = opts.fsync; // cumulative counts at le 0.001, 0.002, 0.004 (+Inf = c)
  return String.raw`# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} ${a}
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} ${b}
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} ${c}
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} ${c}
etcd_disk_wal_fsync_duration_seconds_sum 0.01
etcd_disk_wal_fsync_duration_seconds_count ${c}
# TYPE etcd_network_peer_round_trip_time_seconds histogram
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="0.001"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="0.002"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="+Inf"} 1
etcd_network_peer_round_trip_time_seconds_count{To="a"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="0.001"} 0
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="0.002"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="+Inf"} 1
etcd_network_peer_round_trip_time_seconds_count{To="b"} 1
# TYPE etcd_server_proposals_committed_total gauge
etcd_server_proposals_committed_total ${opts.committed}
# TYPE etcd_server_proposals_failed_total counter
etcd_server_proposals_failed_total ${opts.failed}
# TYPE etcd_server_proposals_pending gauge
etcd_server_proposals_pending 3
# TYPE etcd_server_leader_changes_seen_total counter
etcd_server_leader_changes_seen_total ${opts.leaderChanges ?? 1}
# TYPE etcd_mvcc_db_total_size_in_bytes gauge
etcd_mvcc_db_total_size_in_bytes 20480
# TYPE etcd_mvcc_db_total_size_in_use_in_bytes gauge
etcd_mvcc_db_total_size_in_use_in_bytes 16384
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} ${opts.handledPut}
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 2
grpc_server_handled_total{grpc_code="OK",grpc_method="Compact",grpc_service="etcdserverpb.KV",grpc_type="unary"} 0
`;
}

function snap(at: number, text: string): MetricsSnapshot {
  return metricsSnapshot(parsePrometheusText(text), at);
}

describe('server metrics series', () => {
  const first = snap(T0, scrape({ committed: 100, failed: 1, fsync: [10, 30, 40], handledPut: 50 }));
  const second = snap(T0 + 2000, scrape({ committed: 300, failed: 5, fsync: [10, 130, 140], handledPut: 250 }));

  it('first scrape: gauges and quantiles from the cumulative buckets, no rates', () => {
    const v = serverSeries(first);
    assert.equal(v.db_size_bytes, 20480);
    assert.equal(v.db_size_in_use_bytes, 16384);
    assert.equal(v.proposals_pending, 3);
    assert.equal(v.leader_changes, 1);
    // 40 fsyncs: rank 20 falls in (1 ms, 2 ms] holding 20 → 1 + 1 × (20 − 10) / 20 = 1.5 ms.
    assert.ok(Math.abs(v.wal_fsync_p50_ms - 1.5) < 1e-9, String(v.wal_fsync_p50_ms));
    // rank 39.6 in (2 ms, 4 ms] holding 10 → 2 + 2 × 9.6 / 10 = 3.92 ms.
    assert.ok(Math.abs(v.wal_fsync_p99_ms - 3.92) < 1e-9, String(v.wal_fsync_p99_ms));
    // Peer RTT merged over peers: 2 observations, one ≤1 ms, one in (1, 2].
    assert.ok(Math.abs(v.peer_rtt_p50_ms - 1) < 1e-9, String(v.peer_rtt_p50_ms));
    assert.equal(
      Object.keys(v).some((k) => k.endsWith('_per_s')),
      false,
    );
  });

  it('second scrape: counter rates and quantiles over the interval only', () => {
    const v = serverSeries(second, first);
    assert.equal(v.proposals_committed_per_s, 100);
    assert.equal(v.proposals_failed_per_s, 2);
    assert.equal(v.grpc_Put_per_s, 100);
    assert.equal(v.grpc_Put_errors_per_s, 0);
    assert.equal(v.wal_fsync_per_s, 50);
    // The 100 new fsyncs all took 1–2 ms: the interval's p99 is inside that bucket (the cumulative one is not).
    assert.ok(v.wal_fsync_p99_ms > 1 && v.wal_fsync_p99_ms <= 2, String(v.wal_fsync_p99_ms));
    assert.ok(Math.abs(v.wal_fsync_p50_ms - 1.5) < 1e-9, String(v.wal_fsync_p50_ms));
    // No peer round trips in the interval: no quantile rather than a made-up 0.
    assert.equal(v.peer_rtt_p99_ms, undefined);
    assert.equal(v.peer_rtt_per_s, 0);
    // Methods never called stay out.
    assert.equal(v.grpc_Compact_per_s, undefined);
  });

  it('treats a counter that went down as a restart and counts from zero', () => {
    const restarted = snap(
      T0 + 4000,
      scrape({ committed: 20, failed: 0, fsync: [2, 4, 4], handledPut: 10, leaderChanges: 1 }),
    );
    const v = serverSeries(restarted, second);
    assert.equal(v.proposals_committed_per_s, 10);
    assert.equal(v.proposals_failed_per_s, 0);
    assert.equal(v.grpc_Put_per_s, 6); // 10 OK + 2 Unavailable since the restart
    assert.equal(v.wal_fsync_per_s, 2);
    assert.ok(Math.abs(v.wal_fsync_p50_ms - 1) < 1e-9, String(v.wal_fsync_p50_ms));
  });
});

describe('operationType', () => {
  it('reduces operation phrases to their type, without keys or ids', () => {
    assert.equal(operationType('list keys'), 'list keys');
    assert.equal(operationType('save /app/config'), 'save');
    assert.equal(operationType('save config'), 'save');
    assert.equal(operationType('delete 12 keys under /x/'), 'delete');
    assert.equal(operationType('read the status of http://127.0.0.1:2379'), 'status');
    assert.equal(operationType('revoke lease deadbeef'), 'revoke lease');
    assert.equal(operationType('grant a 30 s lease'), 'grant lease');
    assert.equal(operationType('compact to revision 42'), 'compact');
    assert.equal(operationType('list /a at revision 5'), 'list');
    assert.equal(operationType('run a transaction'), 'run');
    assert.equal(operationType('123'), 'other');
  });
});

describe('load levels', () => {
  it('keep etcdctl check perf concurrency and rates, with bounded totals', () => {
    assert.deepEqual([LOAD_LEVELS.s.clients, LOAD_LEVELS.m.clients, LOAD_LEVELS.l.clients], [50, 200, 500]);
    assert.deepEqual(
      [LOAD_LEVELS.s.ratePerSecond, LOAD_LEVELS.m.ratePerSecond, LOAD_LEVELS.l.ratePerSecond],
      [150, 1000, 8000],
    );
    for (const level of Object.values(LOAD_LEVELS)) {
      const seconds = level.totalOps / level.ratePerSecond!;
      assert.ok(seconds >= 2 && seconds <= 20, `${level.label}: ${seconds} s at the target rate`);
      assert.ok(level.totalOps * level.valueBytes <= 64 * 1024 * 1024, `${level.label}: bounded volume`);
    }
  });
});
