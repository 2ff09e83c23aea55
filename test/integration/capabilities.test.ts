import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { serverCapabilities } from '../../src/etcd/keyspace/capabilities';
import { RangeReader } from '../../src/etcd/keyspace/rangeReader';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

describe('server capabilities on a real etcd 3.4', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'c', name: 'c', endpoints: cluster.endpoints }, {}, silentLogger);
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  it('asks the server for RangeStream: etcd 3.4 answers UNIMPLEMENTED, so the engine stays on unary ranges', async () => {
    const caps = await serverCapabilities(conn);
    assert.match(caps.version, /^3\.4\./, 'the version from the Status answer');
    assert.equal(caps.probe, 'unimplemented', `the server said so (${caps.detail})`);
    assert.equal(caps.rangeStream, false);
    assert.equal(new RangeReader(conn, { capabilities: caps }).path, 'unary');
  });

  it('detects once per connection; a namespaced connection of its own asks again', async () => {
    const first = serverCapabilities(conn);
    assert.equal(serverCapabilities(conn), first, 'the same detection');
    const ns = new EtcdConnection(
      { id: 'n', name: 'n', endpoints: cluster.endpoints, namespace: '/tenant/' },
      {},
      silentLogger,
    );
    try {
      const other = serverCapabilities(ns);
      assert.notEqual(other, first);
      assert.equal((await other).probe, 'unimplemented');
    } finally {
      await ns.close();
    }
  });

  it('a probe that gets no answer is not kept: the next call asks again', async () => {
    const stopped = await EtcdCluster.start();
    const gone = new EtcdConnection(
      { id: 'g', name: 'g', endpoints: stopped.endpoints, timeoutMs: 2_000, retries: 0 },
      {},
      silentLogger,
    );
    await stopped.stop();
    try {
      const first = serverCapabilities(gone);
      await assert.rejects(first);
      assert.notEqual(serverCapabilities(gone), first, 'asked again');
      await assert.rejects(serverCapabilities(gone));
    } finally {
      await gone.close();
    }
  });
});
