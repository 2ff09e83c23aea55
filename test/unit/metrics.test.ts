import * as assert from 'node:assert/strict';
import {
  histogramQuantile,
  histograms,
  mergeHistograms,
  parsePrometheusText,
  sampleQuantile,
} from '../../src/etcd/metrics';

const TEXT = String.raw`# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 10
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 30
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 40
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 40
etcd_disk_wal_fsync_duration_seconds_sum 0.06
etcd_disk_wal_fsync_duration_seconds_count 40
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",le="0.005"} 5
grpc_server_handling_seconds_bucket{grpc_method="Range",grpc_service="etcdserverpb.KV",le="+Inf"} 6
grpc_server_handling_seconds_sum{grpc_method="Range",grpc_service="etcdserverpb.KV"} 0.02
grpc_server_handling_seconds_count{grpc_method="Range",grpc_service="etcdserverpb.KV"} 6
grpc_server_handling_seconds_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",le="0.005"} 1
grpc_server_handling_seconds_bucket{grpc_method="Put",grpc_service="etcdserverpb.KV",le="+Inf"} 4
grpc_server_handling_seconds_sum{grpc_method="Put",grpc_service="etcdserverpb.KV"} 0.4
grpc_server_handling_seconds_count{grpc_method="Put",grpc_service="etcdserverpb.KV"} 4
# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0.5"} 2.5e-05
go_gc_duration_seconds{quantile="1"} 0.001
go_gc_duration_seconds_sum 0.002
go_gc_duration_seconds_count 12
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# TYPE weird counter
weird{path="C:\\dir",quote="say \"hi\"",nl="a\nb"} 7 1700000000000
no_type_line 3
`;

describe('Prometheus text format', () => {
  const families = parsePrometheusText(TEXT);

  it('groups histogram series by labels with buckets, sum and count', () => {
    const fsync = histograms(families.get('etcd_disk_wal_fsync_duration_seconds'));
    assert.equal(fsync.length, 1);
    assert.deepEqual(
      fsync[0].buckets.map((b) => b.le),
      [0.001, 0.002, 0.004, Infinity],
    );
    assert.equal(fsync[0].count, 40);
    assert.equal(fsync[0].sum, 0.06);
    assert.match(families.get('etcd_disk_wal_fsync_duration_seconds')!.help, /fsync called by WAL/);
    const grpc = histograms(families.get('grpc_server_handling_seconds'));
    assert.equal(grpc.length, 2);
    const put = grpc.find((h) => h.labels.grpc_method === 'Put')!;
    assert.deepEqual(put.labels, { grpc_method: 'Put', grpc_service: 'etcdserverpb.KV' });
    assert.equal(put.count, 4);
    const merged = mergeHistograms(grpc)!;
    assert.deepEqual(
      merged.buckets.map((b) => b.count),
      [6, 10],
    );
    assert.equal(merged.count, 10);
  });

  it('keeps summaries, gauges and untyped samples', () => {
    const gc = families.get('go_gc_duration_seconds')!;
    assert.equal(gc.type, 'summary');
    assert.equal(gc.samples.find((s) => s.labels.quantile === '0.5')!.value, 2.5e-5);
    assert.equal(gc.samples.find((s) => s.name === 'go_gc_duration_seconds_count')!.value, 12);
    assert.equal(families.get('etcd_server_has_leader')!.samples[0].value, 1);
    assert.equal(families.get('no_type_line')!.type, 'untyped');
  });

  it('unescapes label values (backslash, quote, newline) and ignores timestamps', () => {
    const s = families.get('weird')!.samples[0];
    assert.deepEqual(s.labels, { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' });
    assert.equal(s.value, 7);
  });

  it('computes histogram quantiles like histogram_quantile', () => {
    const [fsync] = histograms(families.get('etcd_disk_wal_fsync_duration_seconds'));
    // rank 20 of 40: in (0.001, 0.002], 10 of the 20 in that bucket -> halfway.
    assert.equal(histogramQuantile(0.5, fsync.buckets), 0.0015);
    // rank 39.6: in (0.002, 0.004], 9.6 of 10 -> 0.002 + 0.002 * 0.96
    assert.ok(Math.abs(histogramQuantile(0.99, fsync.buckets) - 0.00392) < 1e-12);
    // All in +Inf: the highest finite bound.
    assert.equal(
      histogramQuantile(0.9, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 5 },
      ]),
      0.1,
    );
    assert.ok(
      Number.isNaN(
        histogramQuantile(0.5, [
          { le: 1, count: 0 },
          { le: Infinity, count: 0 },
        ]),
      ),
    );
  });

  it('recovers quantiles of a known distribution from its histogram', () => {
    // 10,000 values uniform in [0, 1): bucket bounds every 0.05.
    const values = Array.from({ length: 10_000 }, (_, i) => (i + 0.5) / 10_000);
    const bounds = Array.from({ length: 20 }, (_, i) => (i + 1) * 0.05);
    const buckets = [
      ...bounds.map((le) => ({ le, count: values.filter((v) => v <= le).length })),
      { le: Infinity, count: values.length },
    ];
    for (const q of [0.5, 0.95, 0.99]) assert.ok(Math.abs(histogramQuantile(q, buckets) - q) < 0.001, `q=${q}`);
    const sorted = [...values].sort((a, b) => a - b);
    assert.ok(Math.abs(sampleQuantile(sorted, 0.99) - 0.99) < 0.001);
    assert.equal(sampleQuantile([5], 0.5), 5);
    assert.equal(sampleQuantile([1, 2, 3, 4], 0.5), 2);
    assert.ok(Number.isNaN(sampleQuantile([], 0.5)));
  });
});
