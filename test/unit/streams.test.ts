import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { SilenceWatchdog, StreamRouter } from '../../src/etcd/streams';

describe('stream routing', () => {
  const endpoints = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3', 'http://127.0.0.1:4'];
  let conn: EtcdConnection;
  let router: StreamRouter;
  beforeEach(() => {
    // No call is made: the router only ranks endpoints (no client exists, so no circuit is held open).
    conn = new EtcdConnection({ id: 'r', name: 'r', endpoints }, {}, silentLogger);
    router = StreamRouter.for(conn);
  });
  afterEach(() => conn.dispose());

  it('starts in profile order and is one router per connection', () => {
    assert.deepEqual(router.order(), endpoints);
    assert.equal(StreamRouter.for(conn), router);
  });

  it('prefers the member that answered most recently', async () => {
    router.answered(endpoints[2]);
    await new Promise((r) => setTimeout(r, 5));
    router.answered(endpoints[3]);
    assert.deepEqual(router.order(), [endpoints[3], endpoints[2], endpoints[0], endpoints[1]]);
  });

  it('puts a failed member after the healthy ones and a silent one after those that failed fast', async () => {
    router.answered(endpoints[0]);
    router.failed(endpoints[0], 'silent');
    router.failed(endpoints[1], 'error');
    assert.deepEqual(router.order(), [endpoints[2], endpoints[3], endpoints[1], endpoints[0]]);
  });

  it('among troubled members, tries the one in trouble longest first (most likely recovered)', async () => {
    router.failed(endpoints[3], 'error');
    await new Promise((r) => setTimeout(r, 5));
    router.failed(endpoints[1], 'error');
    assert.deepEqual(router.order(), [endpoints[0], endpoints[2], endpoints[3], endpoints[1]]);
  });

  it('a member that answers again ranks with the healthy ones', () => {
    router.failed(endpoints[0], 'silent');
    assert.equal(router.order()[3], endpoints[0]);
    router.answered(endpoints[0]);
    assert.equal(router.order()[0], endpoints[0]);
  });

  it('a new router replaces a closed connection’s', async () => {
    await conn.close();
    assert.notEqual(StreamRouter.for(conn), router);
  });
});

describe('silence watchdog', () => {
  it('stays quiet while something is heard, and fires once nothing is', async () => {
    let firedAt: number | undefined;
    const dog = new SilenceWatchdog(200, (heard) => (firedAt = heard));
    dog.start();
    // Heard every 20 ms for 1 s: even if this process stalls, the heard timer runs before the check.
    const heartbeat = setInterval(() => dog.heard(), 20);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(heartbeat);
    assert.equal(firedAt, undefined, 'no silence while heard');
    const lastHeard = dog.lastHeardAt;
    while (firedAt === undefined) await new Promise((r) => setTimeout(r, 20));
    assert.equal(firedAt, lastHeard, 'reports when it last heard');
    dog.stop();
  });

  it('never fires after stop()', async () => {
    let fired = false;
    const dog = new SilenceWatchdog(10, () => (fired = true));
    dog.start();
    dog.stop();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fired, false);
  });
});
