import * as assert from 'node:assert/strict';
import { seedDemo } from '../../scripts/seedDemo';
import { EtcdConnection } from '../../src/etcd/connection';
import { isCancellation } from '../../src/etcd/errors';
import { prefixEnd } from '../../src/etcd/keyCodec';
import { decodeKubernetesValue, inspectKubernetesValue } from '../../src/etcd/kubernetes/decode';
import { kubernetesOverview, renderKubernetesOverview } from '../../src/etcd/kubernetes/overview';
import { parseRegistryKey } from '../../src/etcd/kubernetes/registry';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

const b = (s: string) => Buffer.from(s);

describe('Kubernetes values in a real etcd (the demo registry)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection(
      { id: 'k8s', name: 'k8s', endpoints: cluster.endpoints, timeoutMs: 10_000 },
      {},
      silentLogger,
    );
    await seedDemo(conn);
  });

  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  it('decodes every value the demo stored under /registry/: name and namespace agree with the key', async () => {
    const prefix = Buffer.from('/registry/');
    const res = await conn.call('scan', (c) => c.kv.range({ key: prefix, range_end: prefixEnd(prefix) }));
    const formats: Record<string, number> = {};
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const info = inspectKubernetesValue(kv.value, kv.key);
      assert.ok(info, `${key} is a Kubernetes value`);
      formats[info.format] = (formats[info.format] ?? 0) + 1;
      if (info.format === 'encrypted') continue;
      const path = parseRegistryKey(key, '/registry/')!;
      assert.equal(info.object.metadata?.name, path.name, `${key}: metadata.name`);
      assert.equal(info.object.metadata?.namespace, path.namespace, `${key}: metadata.namespace`);
      if (path.kind) assert.equal(info.object.kind, path.kind, `${key}: kind`);
    }
    assert.deepEqual(formats, { protobuf: 52, json: 1, encrypted: 1 });
    const pod = decodeKubernetesValue(
      res.kvs.find((kv) => kv.key.toString() === '/registry/pods/payments/api-5f3a')!.value,
    );
    assert.ok(pod && !('encrypted' in pod));
    assert.deepEqual((pod.spec as { containers: Array<{ resources: unknown }> }).containers[0].resources, {
      limits: { cpu: '500m', memory: '256Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
  });

  it('the overview counts objects per resource and namespace, encrypted vs plain, events and the largest', async () => {
    const progress: Array<[number, number]> = [];
    const o = await kubernetesOverview(conn, '/registry/', {
      top: 5,
      pageSize: 7,
      onProgress: (read, total) => progress.push([read, total]),
    });
    assert.equal(o.objects, 54);
    const byResource = Object.fromEntries(o.resources.map((r) => [r.resource, r]));
    assert.equal(byResource.pods.objects, 24);
    assert.equal(byResource.pods.kind, 'Pod');
    assert.deepEqual(byResource.secrets.byFormat, { protobuf: 4, json: 0, encrypted: 1, other: 0 });
    assert.deepEqual(byResource.secrets.providers, { 'aescbc:key1': 1 });
    assert.equal(byResource['example.com/widgets'].byFormat.json, 1);
    assert.equal(byResource['services/specs'].kind, 'Service');
    assert.deepEqual(o.events, { objects: 4, bytes: byResource.events.bytes });
    assert.equal(o.namespaces.find((n) => n.namespace === 'payments')?.objects, 13);
    assert.equal(o.largest.length, 5);
    for (let i = 1; i < o.largest.length; i++) assert.ok(o.largest[i - 1].bytes >= o.largest[i].bytes, 'largest first');
    assert.deepEqual(progress[progress.length - 1], [54, 54]);
    assert.ok(progress.length > 5, 'progress after every page');
    assert.match(renderKubernetesOverview(o, 'demo'), /\| pods \| Pod \| 24 \|/);
  });

  it("the overview's total and per-resource counts are those of one revision, while objects are added", async () => {
    const progress: Array<[number, number]> = [];
    const writes: Array<Promise<unknown>> = [];
    const o = await kubernetesOverview(conn, '/registry/', {
      pageSize: 5,
      onProgress: (read, total) => {
        progress.push([read, total]);
        // A writer adds objects while the overview reads (the first call is the count, before any page).
        const n = writes.length;
        if (n < 3)
          writes.push(
            conn.write('add a ConfigMap', (c) => c.put(`/registry/configmaps/late/cm-${n}`).value('{}').exec()),
          );
      },
    });
    try {
      const res = await conn.call('full read', (c) =>
        c.kv.range({ key: b('/registry/'), range_end: prefixEnd(b('/registry/')), revision: o.revision }),
      );
      assert.equal(o.objects, res.kvs.length, `objects at revision ${o.revision}`);
      assert.ok(
        progress.every(([, total]) => total === o.objects),
        'the total counted is what the pages held',
      );
      const configmaps = res.kvs.filter((kv) => kv.key.toString().startsWith('/registry/configmaps/')).length;
      assert.equal(o.resources.find((r) => r.resource === 'configmaps')?.objects, configmaps);
    } finally {
      await Promise.all(writes);
      await conn.write('clean', (c) => c.delete().prefix('/registry/configmaps/late/').exec());
    }
    const now = await conn.call('count', (c) => c.getAll().prefix('/registry/').count());
    assert.equal(now, 54, 'the added objects are gone again');
  });

  it('stops when cancelled, with a cancellation rather than a failure', async () => {
    const controller = new AbortController();
    await assert.rejects(
      kubernetesOverview(conn, '/registry/', {
        pageSize: 5,
        signal: controller.signal,
        onProgress: (read) => read >= 10 && controller.abort(),
      }),
      (err: unknown) => isCancellation(err),
    );
  });
});
