import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { silentLogger } from '../../src/etcd/logger';
import { histogramQuantile, histograms, parsePrometheusText, scrapeMetrics } from '../../src/etcd/metrics';
import { EtcdCluster, registerCleanup, startBlackhole } from '../rig/etcd';

registerCleanup();

describe('metrics scrape (real etcd)', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start();
  });
  after(async () => cluster?.stop());

  it('scrapes a member and reads fsync and backend commit histograms', async () => {
    const conn = new EtcdConnection({ id: 'm', name: 'm', endpoints: cluster.endpoints }, {}, silentLogger);
    for (let i = 0; i < 50; i++) await conn.write('put', (c) => c.put(`/m/${i}`).value('v').exec());
    await conn.close();
    const families = parsePrometheusText(await scrapeMetrics(cluster.endpoints[0], { timeoutMs: 5000 }));
    const [fsync] = histograms(families.get('etcd_disk_wal_fsync_duration_seconds'));
    assert.ok(fsync.count >= 50, `fsync count ${fsync.count}`);
    const p99 = histogramQuantile(0.99, fsync.buckets);
    assert.ok(p99 > 0 && Number.isFinite(p99));
    assert.ok(histograms(families.get('etcd_disk_backend_commit_duration_seconds'))[0].count > 0);
    // gRPC latency histograms need --metrics=extensive; the handled counters are always there, by method.
    const handled = families.get('grpc_server_handled_total')!.samples;
    assert.ok(handled.some((s) => s.labels.grpc_method === 'Put' && s.value >= 50));
    assert.equal(families.get('etcd_server_has_leader')!.samples[0].value, 1);
  });

  it('fails a blackholed /metrics with a clear timeout', async () => {
    const hole = await startBlackhole();
    try {
      await assert.rejects(
        scrapeMetrics(hole.endpoint, { timeoutMs: 300 }),
        (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'timeout',
      );
    } finally {
      await hole.close();
    }
  });
});
