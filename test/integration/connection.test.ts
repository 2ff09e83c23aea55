import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdErrorKind, EtcdExplorerError } from '../../src/etcd/errors';
import { Logger } from '../../src/etcd/logger';
import { ConnectionProfile } from '../../src/etcd/profile';
import {
  AuthUsers,
  EtcdCluster,
  TlsFiles,
  makeTlsFiles,
  registerCleanup,
  removeTlsFiles,
  startBlackhole,
  startDeadEndpoint,
} from '../rig/etcd';

registerCleanup();

/** Collects log lines so tests can check that no secret is ever logged. */
function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const push = (m: string) => lines.push(m);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

function profile(endpoints: readonly string[], extra: Partial<ConnectionProfile> = {}): ConnectionProfile {
  return { id: 'test', name: 'test', endpoints, ...extra };
}

async function expectError(
  promise: Promise<unknown>,
  kind: EtcdErrorKind,
  message?: RegExp,
): Promise<EtcdExplorerError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EtcdExplorerError, `expected EtcdExplorerError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind of "${err.message}" (${err.detail})`);
    if (message) assert.match(err.message, message);
    assert.doesNotMatch(err.message, /^\d+ [A-Z_]+:/, 'no bare gRPC code');
    return err;
  }
  assert.fail(`expected a ${kind} error`);
}

describe('connection (real etcd)', function () {
  this.timeout(60_000);
  const open: EtcdConnection[] = [];
  const connect = (p: ConnectionProfile, password?: string, log = memoryLogger()) => {
    const c = new EtcdConnection(p, { password }, log);
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });

  describe('single member', () => {
    let cluster: EtcdCluster;
    before(async () => {
      cluster = await EtcdCluster.start();
    });
    after(async () => cluster?.stop());

    it('connects and reports version, leader and members from Status', async () => {
      const c = connect(profile(cluster.endpoints));
      const states: string[] = [];
      c.onDidChangeState((s) => states.push(s));
      const summary = await c.connect();
      assert.match(summary.version, /^3\.\d+\.\d+/);
      assert.equal(summary.memberCount, 1);
      assert.equal(summary.leaderName, cluster.members[0].name);
      assert.deepEqual(states, ['connecting', 'connected']);
      assert.equal(c.state, 'connected');
    });

    it('reuses one client for every call', async () => {
      const c = connect(profile(cluster.endpoints));
      const first = c.client;
      await c.write('put', (client) => client.put('/reuse/a').value('1').exec());
      assert.equal(await c.call('get', (client) => client.get('/reuse/a').string()), '1');
      assert.equal(c.client, first);
    });

    it('refuses a write on a read-only profile in the core, and nothing is written', async () => {
      const ro = connect(profile(cluster.endpoints, { readOnly: true }));
      await expectError(
        ro.write('put /ro/x', (client) => client.put('/ro/x').value('1').exec()),
        'readOnly',
        /read-only/,
      );
      const rw = connect(profile(cluster.endpoints));
      assert.equal(await rw.call('get', (client) => client.get('/ro/x').string()), null);
      await rw.write('put', (client) => client.put('/ro/readable').value('1').exec());
      assert.equal(await ro.call('get', (client) => client.get('/ro/readable').string()), '1', 'reads still work');
    });

    it('confines every call to the namespace', async () => {
      const c = connect(profile(cluster.endpoints, { namespace: '/tenant-a/' }));
      assert.deepEqual(c.absoluteKey(Buffer.from('k')), Buffer.from('/tenant-a/k'));
      assert.deepEqual(c.relativeKey(Buffer.from('/tenant-a/k')), Buffer.from('k'));
    });

    it('closes watchers before the client so the process can exit', async () => {
      // A child process connects, opens a watch, registers it, closes: it must exit by itself.
      const script = `
        const { EtcdConnection } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'etcd', 'connection.js'))});
        const log = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
        (async () => {
          const c = new EtcdConnection({ id: 'x', name: 'x', endpoints: ${JSON.stringify(cluster.endpoints)} }, {}, log);
          const w = await c.client.watch().key('/exit/k').create();
          c.trackStream({ stop: () => w.cancel() });
          await c.close();
          process.stdout.write('closed');
        })();`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 15_000);
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      assert.equal(out, 'closed');
      assert.equal(code, 0, 'the process exited on its own after close()');
    });
  });

  describe('3-member cluster', () => {
    let cluster: EtcdCluster;
    before(async () => {
      cluster = await EtcdCluster.start({ size: 3 });
    });
    after(async () => cluster?.stop());

    it('fails over when a listed endpoint is dead', async () => {
      const dead = await startDeadEndpoint();
      await cluster.kill(0, 'SIGKILL');
      try {
        const c = connect(profile([dead, ...cluster.endpoints], { timeoutMs: 2000, retries: 3 }));
        await c.connect();
        for (let i = 0; i < 20; i++) {
          await c.write('put', (client) => client.put(`/failover/${i}`).value(String(i)).exec());
        }
        const count = await c.call('count', (client) => client.getAll().prefix('/failover/').count());
        assert.equal(count, 20);
      } finally {
        await cluster.restart(0);
      }
    });
  });

  describe('TLS with a client certificate', () => {
    let tls: TlsFiles;
    let cluster: EtcdCluster;
    before(async () => {
      tls = await makeTlsFiles();
      cluster = await EtcdCluster.start({ tls });
    });
    after(async () => {
      await cluster?.stop();
      if (tls) await removeTlsFiles(tls);
    });

    it('connects, verifies the server against the CA and reads/writes', async () => {
      assert.ok(cluster.endpoints.every((e) => e.startsWith('https://')));
      const c = connect(
        profile(cluster.endpoints, { tls: { caFile: tls.caFile, certFile: tls.clientCert, keyFile: tls.clientKey } }),
      );
      await c.connect();
      await c.write('put', (client) => client.put('/tls/k').value('secure').exec());
      assert.equal(await c.call('get', (client) => client.get('/tls/k').string()), 'secure');
    });

    it('fails with a TLS error when the server is signed by another CA', async () => {
      const c = connect(
        profile(cluster.endpoints, {
          tls: { caFile: tls.otherCaFile, certFile: tls.clientCert, keyFile: tls.clientKey },
          timeoutMs: 2000,
          retries: 0,
        }),
      );
      await expectError(c.connect(), 'tls', /TLS handshake/);
    });

    it('names a missing CA file instead of failing obscurely', async () => {
      const c = connect(profile(cluster.endpoints, { tls: { caFile: '/nonexistent/ca.pem' } }));
      await expectError(c.connect(), 'config', /CA file "\/nonexistent\/ca.pem" does not exist/);
    });
  });

  describe('auth', () => {
    let cluster: EtcdCluster;
    let users: AuthUsers;
    before(async () => {
      cluster = await EtcdCluster.start();
      users = await cluster.enableAuth();
    });
    after(async () => cluster?.stop());

    it('reports a wrong password clearly and never logs it', async () => {
      const log = memoryLogger();
      const c = connect(profile(cluster.endpoints, { username: 'root', retries: 0 }), 'definitely-wrong-pw', log);
      await expectError(c.connect(), 'auth', /wrong username or password/);
      assert.ok(!log.lines.join('\n').includes('definitely-wrong-pw'), 'password not in the log');
    });

    it('connects with the right password', async () => {
      const c = connect(profile(cluster.endpoints, { username: users.root.user }), users.root.password);
      await c.connect();
      await c.write('put', (client) => client.put('/app/x').value('1').exec());
    });

    it('reports permission denied for a restricted role', async () => {
      const c = connect(profile(cluster.endpoints, { username: users.reader.user, retries: 0 }), users.reader.password);
      assert.equal(await c.call('get', (client) => client.get('/app/x').string()), '1');
      await expectError(
        c.write('put /app/x', (client) => client.put('/app/x').value('2').exec()),
        'permission',
        /permission denied/,
      );
    });
  });

  describe('unreachable endpoints', () => {
    it('fails a blackholed endpoint with a clear timeout within timeout × attempts, no hang', async () => {
      const hole = await startBlackhole();
      try {
        const timeoutMs = 500;
        const retries = 2;
        const c = connect(profile([hole.endpoint], { timeoutMs, retries }));
        const started = Date.now();
        await expectError(c.connect(), 'timeout', /no answer .* within 500 ms/);
        const elapsed = Date.now() - started;
        // Upper bound only (a correctness bound, not a benchmark): attempts × deadline + backoff + slack.
        assert.ok(elapsed < timeoutMs * (retries + 1) + 1000 + 2000, `took ${elapsed} ms`);
        assert.equal(c.state, 'unreachable');
      } finally {
        await hole.close();
      }
    });

    it('reports a refused port as unreachable', async () => {
      const dead = await startDeadEndpoint();
      const c = connect(profile([dead], { timeoutMs: 1000, retries: 0 }));
      await expectError(c.connect(), 'unreachable', /unreachable/);
    });

    it('stops a cancelled call without an error toast kind', async () => {
      const hole = await startBlackhole();
      try {
        const c = connect(profile([hole.endpoint], { timeoutMs: 5000, retries: 0 }));
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        await expectError(c.connect(controller.signal), 'cancelled');
      } finally {
        await hole.close();
      }
    });
  });
});
