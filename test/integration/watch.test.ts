import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { ResilientWatch, WatchEvent, WatchStatus } from '../../src/etcd/watch';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { until } from '../rig/wait';
import { eventSignature as sig, serverHistory } from './serverHistory';

registerCleanup();

describe('resilient watch (real etcd, 3 members)', function () {
  this.timeout(180_000);
  let cluster: EtcdCluster;
  const conns: EtcdConnection[] = [];
  const open = (endpoints: string[]) => {
    const c = new EtcdConnection(
      { id: `w${conns.length}`, name: 'w', endpoints, timeoutMs: 3000, retries: 4 },
      {},
      silentLogger,
    );
    conns.push(c);
    return c;
  };

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  after(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await cluster?.stop();
  });

  it('delivers exactly the server history across leader SIGKILL and member restarts during 6,000 writes', async () => {
    const watcherConn = open(cluster.endpoints);
    const writer = open(cluster.endpoints);
    const start = await writer.call('rev', (c) => c.kv.range({ key: Buffer.from('/w/'), count_only: true }));
    const from = String(BigInt(start.header.revision) + 1n);
    const watch = new ResilientWatch(watcherConn, {
      key: Buffer.from('/w/'),
      prefix: true,
      startRevision: from,
      progressIntervalMs: 500,
    });
    const received: WatchEvent[] = [];
    const states: WatchStatus['state'][] = [];
    watch.onEvents((events) => received.push(...events));
    watch.onStatus((s) => states.push(s.state));
    watch.start();
    await until(() => watch.status.state === 'live', 10_000, 'watch live');

    const total = 6000;
    let next = 0;
    let failed = 0;
    // Kill every member once (the leader first), so whichever member the watch uses goes away mid-stream.
    const chaos = async () => {
      const leader = await (async () => {
        await until(() => next >= 800, 60_000, '800 writes');
        return cluster.leaderIndex();
      })();
      const order = [leader, (leader + 1) % 3, (leader + 2) % 3];
      for (const [n, member] of order.entries()) {
        await until(() => next >= 800 + n * 1600, 60_000, 'writes before kill');
        await cluster.kill(member, 'SIGKILL');
        await until(() => next >= 1600 + n * 1600, 60_000, 'writes while down');
        await cluster.restart(member);
      }
    };
    const writers = Array.from({ length: 4 }, async () => {
      while (next < total) {
        const i = next++;
        try {
          await writer.write('put', (c) =>
            c
              .put(`/w/k${i % 500}`)
              .value(String(i))
              .exec(),
          );
        } catch {
          failed++; // a write that timed out may or may not have landed: the comparison below uses the server's history
        }
      }
    });
    await Promise.all([...writers, chaos()]);
    // Right after the chaos every member's circuit may still be open for a few seconds: wait it out.
    let last: bigint | undefined;
    for (const deadline = Date.now() + 30_000; last === undefined && Date.now() < deadline;) {
      try {
        last = BigInt(
          (await writer.call('rev', (c) => c.kv.range({ key: Buffer.from('/w/'), count_only: true }))).header.revision,
        );
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert.ok(last !== undefined, 'cluster answers after the chaos');
    await until(
      () => received.length > 0 && BigInt(received[received.length - 1].modRevision) >= last!,
      60_000,
      'watch caught up',
    );

    const expected = await serverHistory(open(cluster.endpoints), '/w/', from, last);
    const got = received.map(sig);
    assert.ok(expected.length >= total - failed - 10, `server history has the writes (${expected.length})`);
    const dup = got.length - new Set(got).size;
    const gotSet = new Set(got);
    const lost = expected.filter((e) => !gotSet.has(e)).length;
    assert.equal(dup, 0, 'no duplicate');
    assert.equal(lost, 0, 'no lost event');
    assert.deepEqual(got, expected, 'same sequence as the server');
    assert.ok(states.includes('reconnecting'), 'the watch lost its member and resumed');
    watch.stop();
  });

  it('reports compaction during a disconnect with the compact revision, then resyncs', async () => {
    // The watcher talks to member 0 only; the writer to the others.
    const watcherConn = open([cluster.endpoints[0]]);
    const writer = open(cluster.endpoints.slice(1));
    const watch = new ResilientWatch(watcherConn, { key: Buffer.from('/c/'), prefix: true, progressIntervalMs: 0 });
    const received: WatchEvent[] = [];
    watch.onEvents((events) => received.push(...events));
    watch.start();
    await until(() => watch.status.state === 'live', 10_000, 'watch live');
    await writer.write('put', (c) => c.put('/c/a').value('1').exec());
    await until(() => received.length === 1, 10_000, 'first event');

    await cluster.kill(0, 'SIGKILL');
    await until(() => watch.status.state === 'reconnecting', 10_000, 'reconnecting');
    for (let i = 0; i < 20; i++) await writer.write('put', (c) => c.put('/c/a').value(`x${i}`).exec());
    const res = await writer.call('rev', (c) => c.kv.range({ key: Buffer.from('/c/a') }));
    const compactAt = res.header.revision;
    await writer.call('compact', (c) => c.kv.compact({ revision: compactAt, physical: true }));
    await cluster.restart(0);

    await until(() => watch.status.state === 'compacted', 30_000, 'compacted status');
    assert.equal(watch.status.compactRevision, compactAt);
    assert.equal(received.length, 1, 'nothing was skipped silently');

    watch.resync();
    await until(() => watch.status.state === 'live', 30_000, 'live again');
    await writer.write('put', (c) => c.put('/c/b').value('after').exec());
    await until(() => received.some((e) => e.key.toString() === '/c/b'), 10_000, 'event after resync');
    watch.stop();
  });
});
