import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { FolderCache } from '../../src/etcd/folderCache';
import { KeepAliveSession, KeepAliveState, grantLease, inspectLease } from '../../src/etcd/leases';
import { silentLogger } from '../../src/etcd/logger';
import { StreamRouter } from '../../src/etcd/streams';
import { readValue } from '../../src/etcd/values';
import { ResilientWatch, WatchEvent, WatchStatus } from '../../src/etcd/watch';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { until } from '../rig/wait';
import { eventSignature, serverHistory } from './serverHistory';

registerCleanup();

/**
 * Members that stop answering without closing their connections (SIGSTOP), as a stuck disk, a GC or VM pause
 * or a half-open path would: streams must notice the silence, move to another member and say they are stale,
 * losing and repeating nothing. The measured delays and TTLs are printed (FREEZE lines), not asserted.
 */
describe('streams with a silent member (real etcd, 3 members, SIGSTOP)', function () {
  this.timeout(240_000);
  const FREEZE_MS = 10_000;
  let cluster: EtcdCluster;
  const conns: EtcdConnection[] = [];
  const frozen = new Set<number>();
  const open = (endpoints: string[], timeoutMs = 3000, retries = 2) => {
    const c = new EtcdConnection(
      { id: `f${conns.length}`, name: 'f', endpoints, timeoutMs, retries },
      {},
      silentLogger,
    );
    conns.push(c);
    return c;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const freeze = (i: number) => {
    frozen.add(i);
    cluster.freeze(i);
  };
  const thaw = (i: number) => {
    cluster.thaw(i);
    frozen.delete(i);
  };
  /** One connection per member, so writes and checks go only to members that are not frozen. */
  let direct: EtcdConnection[];
  const live = () => direct.filter((_, i) => !frozen.has(i) && cluster.members[i].running);
  /**
   * The live member that leads at the highest term, when a majority of the members answer: a member just thawed
   * may still believe it leads (at an older term) and answer TimeToLive from a lessor whose clock ran on while it
   * was frozen (measured: −6 s for a 4 s lease that every other member had at 3 s).
   */
  async function currentLeader(): Promise<EtcdConnection | undefined> {
    const answers = await Promise.all(
      live().map((c) =>
        c
          .call('status', (k) => k.maintenance.status())
          .then(
            (status) => ({ c, status }),
            () => undefined,
          ),
      ),
    );
    const statuses = answers.filter((a) => a !== undefined);
    if (statuses.length <= direct.length / 2) return undefined;
    const term = Math.max(...statuses.map((a) => Number(a.status.raftTerm)));
    return statuses.find((a) => Number(a.status.raftTerm) === term && a.status.leader === a.status.header.member_id)?.c;
  }
  /**
   * `fn` on the members `pick` offers, the first that answers, asked again every 250 ms for `rounds` rounds; the
   * last failure (or `none`, when no member was offered) if none answers.
   */
  async function retrying<T>(
    rounds: number,
    pick: () => Promise<EtcdConnection[]>,
    fn: (c: EtcdConnection) => Promise<T>,
    none?: Error,
  ): Promise<T> {
    let last: unknown = none;
    for (let round = 0; round < rounds; round++) {
      for (const c of await pick()) {
        try {
          return await fn(c);
        } catch (err) {
          last = err;
        }
      }
      await sleep(250);
    }
    throw last;
  }
  /** A call on the current leader ({@link currentLeader}), waiting for one. */
  const atLeader = <T>(fn: (c: EtcdConnection) => Promise<T>): Promise<T> =>
    retrying(
      40,
      async () => {
        const leader = await currentLeader();
        return leader ? [leader] : [];
      },
      fn,
      new Error('no member leads at the highest term'),
    );
  /** A call on any live member (the first that answers). */
  const anyLive = <T>(fn: (c: EtcdConnection) => Promise<T>): Promise<T> => retrying(20, async () => live(), fn);

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
    direct = cluster.endpoints.map((e) => open([e], 3000, 0));
  });
  afterEach(() => {
    for (const i of [...frozen]) thaw(i);
  });
  after(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await cluster?.stop();
  });

  it('a watch leaves a frozen member within its silence window, says stale, and loses and repeats nothing', async () => {
    const watcherConn = open(cluster.endpoints);
    const start = await anyLive((c) =>
      c.call('rev', (k) => k.kv.range({ key: Buffer.from('/fz/'), count_only: true })),
    );
    const from = String(BigInt(start.header.revision) + 1n);
    const watch = new ResilientWatch(watcherConn, { key: Buffer.from('/fz/'), prefix: true, startRevision: from });
    const received: Array<WatchEvent & { at: number }> = [];
    const statuses: WatchStatus[] = [];
    watch.onEvents((events) => {
      const at = Date.now();
      for (const e of events) received.push({ ...e, at });
    });
    watch.onStatus((s) => statuses.push(s));
    watch.start();
    await until(() => watch.status.state === 'live', 10_000, 'watch live');

    // Writers commit through members that are not frozen; the time each put returned is its commit time.
    const committedAt = new Map<string, number>();
    let writing = true;
    let n = 0;
    const writers = Array.from({ length: 3 }, async () => {
      while (writing) {
        const i = n++;
        const targets = live();
        const c = targets[i % Math.max(1, targets.length)];
        if (!c) {
          await sleep(50);
          continue;
        }
        try {
          const res = await c.write('put', (k) =>
            k
              .put(`/fz/k${i % 300}`)
              .value(String(i))
              .exec(),
          );
          committedAt.set(res.header.revision, Date.now());
        } catch {
          await sleep(20); // an uncertain write: the comparison below uses the server's own history
        }
      }
    });

    // The schedule: leader SIGKILL, then each member frozen 10 s in turn — the watch's member first.
    await until(() => n > 300, 30_000, 'writes before the faults');
    const leader = await cluster.leaderIndex();
    await cluster.kill(leader, 'SIGKILL');
    await sleep(2000);
    await cluster.restart(leader);
    await until(() => watch.status.state === 'live', 30_000, 'watch live after the restart');

    const watched = cluster.endpoints.indexOf(watch.status.endpoint!);
    assert.ok(watched >= 0, `the watch names its member (${watch.status.endpoint})`);
    const order = [watched, (watched + 1) % 3, (watched + 2) % 3];
    const freezes: Array<{ member: number; from: number; to: number }> = [];
    for (const member of order) {
      const readsFrom = watch.status.endpoint === cluster.endpoints[member];
      const at = Date.now();
      freeze(member);
      if (readsFrom) {
        // While its member stays frozen the watch must say so and deliver writes committed after the freeze.
        await until(
          () => statuses.some((s) => s.state === 'stale' && s.endpoint === cluster.endpoints[member]),
          30_000,
          'stale status',
        );
        const stale = statuses.find((s) => s.state === 'stale' && s.endpoint === cluster.endpoints[member])!;
        assert.ok(stale.staleSince !== undefined && stale.staleSince <= Date.now(), 'stale since a time');
        assert.match(stale.message ?? '', /no answer from/);
        await until(
          () => received.some((e) => (committedAt.get(e.modRevision) ?? 0) > at),
          30_000,
          'an event committed during the freeze',
        );
        // That event came while its member is still frozen (the thaw is below), so another member delivered it.
        // Where the watch reads now is not asserted: on a starved machine it may have moved on again since.
      }
      await sleep(Math.max(0, at + FREEZE_MS - Date.now()));
      thaw(member);
      freezes.push({ member, from: at, to: Date.now() });
      await sleep(2000);
    }
    writing = false;
    await Promise.all(writers);

    const last = BigInt(
      (await anyLive((c) => c.call('rev', (k) => k.kv.range({ key: Buffer.from('/fz/'), count_only: true })))).header
        .revision,
    );
    await until(
      () => received.length > 0 && BigInt(received[received.length - 1].modRevision) >= last,
      60_000,
      'watch caught up',
    );
    const expected = await serverHistory(direct[0], '/fz/', from, last);
    const got = received.map(eventSignature);
    const gotSet = new Set(got);
    assert.equal(got.length - gotSet.size, 0, 'no duplicate');
    assert.equal(expected.filter((e) => !gotSet.has(e)).length, 0, 'no lost event');
    assert.deepEqual(got, expected, 'same sequence as the server');

    const delays = received.map((e) => ({ e, ms: e.at - (committedAt.get(e.modRevision) ?? e.at) }));
    const during = (f: { from: number; to: number }) => delays.filter((d) => d.e.at >= f.from && d.e.at <= f.to + 2000);
    const worst = (list: typeof delays) => Math.max(0, ...list.map((d) => d.ms));
    const ownFreeze = freezes[0];
    console.log(
      `FREEZE watch: ${received.length} events, 0 lost, 0 duplicated, ${watch.status.reconnects} reconnects; ` +
        `worst delay ${worst(during(ownFreeze))} ms during the 10 s freeze of its member, ` +
        `${Math.max(...freezes.slice(1).map((f) => worst(during(f))))} ms during the other freezes, ${worst(delays)} ms overall (incl. leader SIGKILL)`,
    );
    watch.stop();
  });

  it('a member cut off from the leader cancels the watch (hasleader), which resumes elsewhere without loss', async () => {
    // Reads from member 0 (first in the profile); members 1 and 2 are frozen, so member 0 loses its leader but
    // keeps answering progress requests: only etcd's hasleader requirement makes it cancel the stream.
    const watcherConn = open(cluster.endpoints, 2000);
    const start = await anyLive((c) =>
      c.call('rev', (k) => k.kv.range({ key: Buffer.from('/hl/'), count_only: true })),
    );
    const from = String(BigInt(start.header.revision) + 1n);
    const watch = new ResilientWatch(watcherConn, { key: Buffer.from('/hl/'), prefix: true, startRevision: from });
    const received: WatchEvent[] = [];
    watch.onEvents((events) => received.push(...events));
    watch.start();
    await until(() => watch.status.state === 'live', 10_000, 'watch live');
    const reader = cluster.endpoints.indexOf(watch.status.endpoint!);
    // Any member will do for the write (the one the watch reads may still be paused by an earlier test's freeze).
    await anyLive((c) => c.write('put', (k) => k.put('/hl/before').value('1').exec()));
    await until(() => received.length === 1, 10_000, 'first event');

    const others = [0, 1, 2].filter((i) => i !== reader);
    others.forEach(freeze);
    await until(
      () => /no leader/.test(watch.status.message ?? ''),
      60_000,
      'the member without a leader cancels the stream',
    );
    assert.notEqual(watch.status.state, 'live');
    others.forEach(thaw);

    await until(() => watch.status.state === 'live', 60_000, 'live again');
    const res = await anyLive((c) => c.write('put', (k) => k.put('/hl/after').value('2').exec()));
    await until(() => received.some((e) => e.modRevision === res.header.revision), 30_000, 'event after the thaw');
    assert.deepEqual(
      received.map((e) => e.key.toString()),
      ['/hl/before', '/hl/after'],
      'nothing lost or repeated',
    );
    watch.stop();
  });

  it('a live folder says stale while its member is silent, and catches up from another member', async () => {
    const conn = open(cluster.endpoints);
    await anyLive((c) => c.write('put', (k) => k.put('/lf/a').value('1').exec()));
    const cache = new FolderCache(conn, { separator: '/', pageSize: 100, liveMaxKeys: 100 });
    const names = () => (cache.peek(Buffer.from('/lf/'))?.children ?? []).map((c) => c.name.toString()).join();
    assert.ok((await cache.list(Buffer.from('/lf/'))).live, 'a small folder is live');
    await anyLive((c) => c.write('put', (k) => k.put('/lf/b').value('1').exec()));
    await until(() => names() === 'a,b', 20_000, 'the watch keeps the folder current');

    // The stream starts on the first member of the router's order; on a starved machine it may have moved since,
    // so freeze members in that order until the one it reads from is found (a member it does not read from never
    // makes it stale, and is thawed again).
    // Seen through the cache's change events, not by polling: once the stream has moved to a live member the
    // listing is current again, so on an idle machine it may be stale for only a few milliseconds.
    let sawStale = false;
    cache.onDidChange(() => {
      if (cache.peek(Buffer.from('/lf/'))?.staleSince !== undefined) sawStale = true;
    });
    let member = -1;
    for (const endpoint of StreamRouter.for(conn).order()) {
      const candidate = cluster.endpoints.indexOf(endpoint);
      sawStale = false;
      freeze(candidate);
      const stale = await until(() => sawStale, 15_000, 'stale listing').then(
        () => true,
        () => false,
      );
      if (stale) {
        member = candidate;
        break;
      }
      thaw(candidate);
    }
    assert.ok(member >= 0, 'the listing said stale while the member it reads from was frozen');
    await anyLive((c) => c.write('put', (k) => k.put('/lf/c').value('1').exec()));
    await until(() => names() === 'a,b,c', 30_000, 'caught up while the member is still frozen');
    await until(() => cache.peek(Buffer.from('/lf/'))?.staleSince === undefined, 30_000, 'no longer stale');
    thaw(member);
    cache.dispose();
  });

  /**
   * The leader is frozen last, and what happens after its thaw is not the client's to decide: etcd#15247 — a leader
   * that resumes from a stall longer than a lease's TTL can revoke that lease on its own clock before it learns it
   * was deposed (etcd 3.4.23 here: in 2 of 5 runs the 4 s lease was gone right after the leader's thaw, though both
   * sessions had renewed through the new leader the whole freeze and its TTL there never reached 0; the fix in
   * etcd#16822 says itself that it only mitigates this). So the
   * test holds the client to what it can do: alive through every follower's freeze and through the leader's
   * (renewed at the new leader), and after the thaw a state that agrees with the cluster — alive while the lease is
   * granted, `lost` once it is gone.
   */
  it('keeps a 4 s and a 10 s lease alive through 10 s freezes of each member in turn, including the leader', async () => {
    const conn = open(cluster.endpoints, 3000);
    const ttls = [4, 10];
    const ids = await Promise.all(ttls.map((ttl) => anyLive((c) => grantLease(c, ttl))));
    const [short, long] = ids;
    await anyLive((c) => c.write('put', (k) => k.put('/ka/short').value('up').lease(short).exec()));
    const sessions = ids.map((id, i) => new KeepAliveSession(conn, id, ttls[i]));
    const states: KeepAliveState[][] = [[], []];
    sessions.forEach((s, i) => s.onDidChange((st) => states[i].push(st)));
    sessions.forEach((s) => s.start());
    await until(() => sessions.every((s) => s.state.state === 'alive'), 10_000, 'alive');
    const history = () =>
      `states: ${states.map((st) => st.map((x) => x.state).join('>')).join(' | ')}; last failures: ${states
        .map((st) =>
          st
            .flatMap((x) => ('message' in x ? [x.message] : []))
            .slice(-3)
            .join(' / '),
        )
        .join(' | ')}`;

    // The lowest remaining TTL either lease had until the leader's thaw, asked of the current leader.
    const lowest = new Map<string, number>(ids.map((id) => [id, Infinity]));
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const leader = await currentLeader();
        for (const id of leader ? ids : []) {
          try {
            const info = await inspectLease(leader!, id);
            if (polling) lowest.set(id, Math.min(lowest.get(id)!, info.ttl));
          } catch {
            // an election under way: ask again next round
          }
        }
        await sleep(200);
      }
    })();

    const alive = sessions[0].state;
    const first = alive.state === 'alive' ? cluster.endpoints.indexOf(alive.endpoint) : 0;
    const leader = await cluster.leaderIndex();
    // The followers, the keep-alive's member first (if it follows); then the leader.
    const followers = [...new Set([first, 0, 1, 2])].filter((i) => i !== leader);
    for (const member of followers) {
      freeze(member);
      await sleep(FREEZE_MS);
      thaw(member);
      await until(
        () => sessions.every((s) => s.state.state === 'alive'),
        30_000,
        `alive after the freeze of member ${member} (${history()})`,
      );
    }

    const frozenAt = Date.now();
    freeze(leader);
    await sleep(FREEZE_MS);
    // Renewed through another member while the leader was frozen.
    for (const [i, s] of sessions.entries()) {
      const st = s.state;
      assert.ok(
        st.state === 'alive' && st.endpoint !== cluster.endpoints[leader] && st.at > frozenAt,
        `lease ${i} renewed elsewhere during the leader's freeze (${history()})`,
      );
    }
    thaw(leader);
    const thawedAt = Date.now();
    polling = false;
    await poller;
    for (const id of ids) assert.ok(lowest.get(id)! > 0, `lease ${id} kept a TTL above 0 until the leader's thaw`);
    assert.ok(
      states[0].some((st) => st.state === 'stale'),
      'the 4 s session noticed its member went silent',
    );

    // After the thaw: each session renews again or says lost, and what it says agrees with the cluster.
    await until(
      () =>
        sessions.every((s) => s.state.state === 'lost' || (s.state.state === 'alive' && s.state.at > thawedAt + 3000)),
      30_000,
      `renewed or lost after the leader's thaw (${history()})`,
    );
    const outcome: string[] = [];
    for (const [i, s] of sessions.entries()) {
      const info = await atLeader((c) => inspectLease(c, ids[i]));
      if (info.ttl > 0) {
        assert.equal(s.state.state, 'alive', `lease ${i} is granted (${info.ttl} s left), so its session says alive`);
        outcome.push(`${ttls[i]} s lease alive`);
      } else {
        // Revoked by the thawed ex-leader (etcd#15247): the session must say so within one renewal.
        await until(() => s.state.state === 'lost', ttls[i] * 1000, `session ${i} says lost once its lease is gone`);
        outcome.push(`${ttls[i]} s lease revoked after the leader's thaw`);
      }
    }
    const granted = await atLeader((c) => inspectLease(c, short));
    if (granted.ttl > 0) assert.ok(await anyLive((c) => readValue(c, Buffer.from('/ka/short'))), 'its key survived');
    console.log(
      `FREEZE keep-alive: lowest remaining TTL ${lowest.get(short)} s of a 4 s lease, ${lowest.get(long)} s of a 10 s lease (freezes of members ${[...followers, leader].join(', ')}; leader ${leader} last); after its thaw: ${outcome.join(', ')}`,
    );
    sessions.forEach((s) => s.stop());
  });
});
