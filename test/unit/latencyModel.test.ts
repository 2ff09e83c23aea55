import * as assert from 'node:assert/strict';
import { LatencyTickDto, parseLatencyMessage } from '../../src/shared/latencyProtocol';
import { LatencyModel, hasData } from '../../src/webview/latency/model';

const stats = (p50: number | null, p99: number | null) => ({
  count: p50 === null ? 0 : 10,
  errors: 0,
  timeouts: 0,
  p50,
  p95: p99,
  p99,
  max: p99,
  mean: p50,
});
const tick = (at: number, a: number | null, b: number | null, failures = 0): LatencyTickDto => ({
  at,
  probes: [
    {
      endpoint: 'http://a',
      op: 'status',
      stats: stats(a, a === null ? null : a * 2),
      histogram: { bounds: [1, 2, Infinity], counts: [3, 4, 0] },
      tickErrors: failures,
      tickTimeouts: 0,
    },
    {
      endpoint: 'http://b',
      op: 'status',
      stats: stats(b, b === null ? null : b * 2),
      histogram: { bounds: [1, 2, Infinity], counts: [1, 0, 0] },
      tickErrors: 0,
      tickTimeouts: failures,
    },
  ],
  own: [
    { op: 'list keys', stats: stats(1, 3) },
    { op: 'save', stats: { ...stats(2, 5), count: 2 } },
  ],
});

describe('latency panel model', () => {
  const endpoints = [
    { url: 'http://a', name: 'm0' },
    { url: 'http://b', name: 'm1' },
  ];

  it('plots p99 and p50 per member, with gaps where a member had no samples', () => {
    const model = new LatencyModel(endpoints);
    model.addTick(tick(1000, 1, 2));
    model.addTick(tick(2000, null, 3));
    const chart = model.probeChart('status');
    assert.deepEqual(chart.x, [1, 2]);
    assert.deepEqual(
      chart.series.map((s) => s.label),
      ['m0 p99', 'm0 p50', 'm1 p99', 'm1 p50'],
    );
    assert.deepEqual(chart.series[0].values, [2, null]);
    assert.deepEqual(chart.series[3].values, [2, 3]);
    assert.equal(chart.series[1].dash, true);
    assert.ok(hasData(chart));
    assert.ok(!hasData(model.probeChart('putDelete')), 'an op nobody probed has no data');
    const all = model.probeChart('status', ['p95', 'max']);
    assert.deepEqual(
      all.series.map((s) => [s.label, s.dash]),
      [
        ['m0 p95', false],
        ['m0 max', true],
        ['m1 p95', false],
        ['m1 max', true],
      ],
    );
    assert.deepEqual(all.series[1].values, [2, null], 'max of m0');
  });

  it('counts failures per tick and member, keeps capacity, and ranks own operations', () => {
    const model = new LatencyModel(endpoints, 3);
    for (let i = 1; i <= 5; i++) model.addTick(tick(i * 1000, 1, 1, i));
    assert.equal(model.ticks.length, 3, 'bounded');
    const failures = model.failureChart();
    assert.deepEqual(failures.series[0].values, [3, 4, 5]);
    assert.deepEqual(failures.series[3].values, [3, 4, 5], 'timeouts of m1');
    assert.deepEqual(
      model.ownChart().series.map((s) => s.label),
      ['list keys p99', 'save p99'],
    );
    assert.deepEqual(model.histogram('http://a', 'status'), { bounds: [1, 2, Infinity], counts: [3, 4, 0] });
  });

  it('groups metric points into rounds, sums gRPC rates over members, and reports unreachable members', () => {
    const model = new LatencyModel(endpoints);
    model.load(
      [],
      [
        {
          at: 1000,
          endpoint: 'http://a',
          ok: true,
          values: {
            wal_fsync_p99_ms: 2,
            grpc_Range_per_s: 10,
            grpc_Put_per_s: 1,
            grpc_Put_errors_per_s: 0.5,
            grpc_Range_p99_ms: 3,
          },
        },
        {
          at: 1001,
          endpoint: 'http://b',
          ok: true,
          values: { wal_fsync_p99_ms: 3, grpc_Range_per_s: 5, grpc_Range_p99_ms: 7 },
        },
        { at: 2000, endpoint: 'http://a', ok: true, values: { wal_fsync_p99_ms: 4, grpc_Range_per_s: 20 } },
        { at: 2001, endpoint: 'http://b', ok: false, error: 'connection refused', values: {} },
      ],
    );
    assert.equal(model.rounds.length, 2);
    const fsync = model.metricChart(['wal_fsync_p99_ms']);
    assert.deepEqual(
      fsync.series.map((s) => s.values),
      [
        [2, 4],
        [3, null],
      ],
    );
    const grpc = model.grpcChart();
    assert.deepEqual(
      grpc.series.map((s) => s.label),
      ['Range/s', 'Put/s'],
    );
    assert.deepEqual(grpc.series[0].values, [15, 20]);
    assert.ok(!grpc.series.some((x) => /errors/.test(x.label)), 'failure counters are not methods');
    const failed = model.grpcChart('errors');
    assert.deepEqual(
      failed.series.map((x) => [x.label, x.values]),
      [['Put failed/s', [0.5, null]]],
    );
    const p99 = model.grpcChart('p99');
    assert.deepEqual(
      p99.series.map((x) => [x.label, x.values]),
      [['Range p99', [7, null]]],
      'the worst member',
    );
    assert.deepEqual(model.metricsProblems(), ['m1: connection refused']);
  });

  it('accepts only well-formed messages from the webview', () => {
    assert.deepEqual(parseLatencyMessage({ type: 'setInterval', ms: 1000 }), { type: 'setInterval', ms: 1000 });
    assert.equal(parseLatencyMessage({ type: 'setInterval', ms: 1 }), undefined);
    assert.equal(parseLatencyMessage({ type: 'savePng', dataUrl: 'javascript:alert(1)', name: 'x' }), undefined);
    assert.equal(parseLatencyMessage({ type: 'export', format: 'xml' }), undefined);
    assert.equal(parseLatencyMessage('ready'), undefined);
    assert.deepEqual(parseLatencyMessage({ type: 'loadTest', level: 's' }), { type: 'loadTest', level: 's' });
  });
});
