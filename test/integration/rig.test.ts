/**
 * Proves the real-etcd rig (test/rig/etcd.ts): clusters serve requests, members can be killed and restarted,
 * TLS and RBAC are really enforced, fault endpoints behave, and nothing is left behind.
 */
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, IOptions } from 'etcd3';
import {
  Blackhole,
  EtcdCluster,
  TlsFiles,
  freePort,
  makeTlsFiles,
  removeTlsFiles,
  startBlackhole,
  startDeadEndpoint,
} from '../rig/etcd';

const RIG_MODULE = path.join(__dirname, '..', 'rig', 'etcd.js');

/** etcd3 ignores dialTimeout: without a per-call deadline a call to a dead member can hang forever. */
function client(hosts: string[], extra: Partial<IOptions> = {}, deadlineMs = 5000): Etcd3 {
  return new Etcd3({
    hosts,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    ...extra,
  });
}

/** Reads a key from one member's own store (serializable), so the answer proves what that member holds. */
async function localValue(endpoint: string, key: string): Promise<string | undefined> {
  const c = client([endpoint]);
  try {
    const res = await c.kv.range({ key: Buffer.from(key), serializable: true });
    return res.kvs[0]?.value.toString();
  } finally {
    c.close();
  }
}

/** True while `pid` names a process that has not exited (a zombie awaiting its reaper counts as exited). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('etcd rig', function () {
  this.timeout(60_000);

  describe('single member', () => {
    let cluster: EtcdCluster | undefined;
    let etcd: Etcd3 | undefined;

    before(async () => {
      cluster = await EtcdCluster.start();
      etcd = client(cluster.endpoints);
    });
    after(async () => {
      etcd?.close();
      await cluster?.stop();
    });

    it('serves a put and get through etcd3 on a loopback endpoint', async () => {
      assert.match(cluster!.endpoints[0], /^http:\/\/127\.0\.0\.1:\d+$/);
      await etcd!.put('rig/single').value('hello');
      assert.strictEqual(await etcd!.get('rig/single').string(), 'hello');
    });

    it('runs etcdctl against the same member', async () => {
      await etcd!.put('rig/ctl').value('from-etcd3');
      const res = await cluster!.etcdctl(['get', 'rig/ctl', '--print-value-only']);
      assert.strictEqual(res.code, 0, res.stderr);
      assert.strictEqual(res.stdout.trim(), 'from-etcd3');
    });

    it('reports the only member as leader', async () => {
      assert.strictEqual(await cluster!.leaderIndex(), 0);
    });
  });

  describe('three members', () => {
    let cluster: EtcdCluster | undefined;
    const clients: Etcd3[] = [];

    before(async () => {
      cluster = await EtcdCluster.start({ size: 3 });
    });
    after(async () => {
      clients.forEach((c) => c.close());
      await cluster?.stop();
    });

    it('starts three healthy members with distinct endpoints', async () => {
      assert.strictEqual(cluster!.members.length, 3);
      assert.strictEqual(new Set(cluster!.endpoints).size, 3);
      assert.ok(cluster!.members.every((m) => m.running && m.pid() !== undefined));
    });

    it('survives SIGKILL of the leader, and the restarted member catches up', async () => {
      const c = cluster!;
      const leader = await c.leaderIndex();
      const killedPid = c.members[leader].pid()!;
      await c.kill(leader, 'SIGKILL');
      assert.strictEqual(c.members[leader].running, false);
      assert.strictEqual(c.members[leader].pid(), undefined);
      assert.strictEqual(isAlive(killedPid), false);

      // Wait for the new leader first: etcd 3.4 holds a put that reaches a leaderless follower until the call's
      // deadline (server side "etcdserver: request timed out" after 5 s) instead of failing it fast.
      assert.notStrictEqual(await c.leaderIndex(), leader);
      const survivors = c.endpoints.filter((_, i) => i !== leader);
      const etcd = client(survivors);
      clients.push(etcd);
      await etcd.put('rig/after-failover').value('written-without-old-leader');

      await c.restart(leader);
      assert.strictEqual(c.members[leader].running, true);
      assert.notStrictEqual(c.members[leader].pid(), killedPid);
      assert.strictEqual(
        await localValue(c.members[leader].clientUrl, 'rig/after-failover'),
        'written-without-old-leader',
      );
    });
  });

  describe('TLS cluster', () => {
    let tls: TlsFiles | undefined;
    let cluster: EtcdCluster | undefined;
    const clients: Etcd3[] = [];
    const pem = (file: string): Buffer => fs.readFileSync(file);

    before(async () => {
      tls = await makeTlsFiles();
      cluster = await EtcdCluster.start({ tls });
    });
    after(async () => {
      clients.forEach((c) => c.close());
      await cluster?.stop();
      if (tls) {
        await removeTlsFiles(tls);
      }
    });

    function tlsClient(credentials: IOptions['credentials'], hosts = cluster!.endpoints): Etcd3 {
      const c = client(hosts, { credentials }, 3000);
      clients.push(c);
      return c;
    }

    it('serves put and get to a client presenting the client cert', async () => {
      assert.match(cluster!.endpoints[0], /^https:\/\/127\.0\.0\.1:\d+$/);
      const etcd = tlsClient({
        rootCertificate: pem(tls!.caFile),
        certChain: pem(tls!.clientCert),
        privateKey: pem(tls!.clientKey),
      });
      await etcd.put('rig/tls').value('secure');
      assert.strictEqual(await etcd.get('rig/tls').string(), 'secure');
    });

    it('rejects a client without a client cert', async () => {
      const etcd = tlsClient({ rootCertificate: pem(tls!.caFile) });
      await assert.rejects(etcd.get('rig/tls').string(), /UNAVAILABLE.*bad certificate/s);
    });

    it('is not trusted by a client that trusts another CA', async () => {
      const etcd = tlsClient({
        rootCertificate: pem(tls!.otherCaFile),
        certChain: pem(tls!.clientCert),
        privateKey: pem(tls!.clientKey),
      });
      await assert.rejects(etcd.get('rig/tls').string(), /UNAVAILABLE.*unable to verify the first certificate/s);
    });

    it('refuses plaintext on the https client URL', async () => {
      const etcd = tlsClient(
        undefined,
        cluster!.endpoints.map((e) => e.replace('https:', 'http:')),
      );
      await assert.rejects(etcd.get('rig/tls').string(), /UNAVAILABLE/);
    });
  });

  describe('auth', () => {
    let cluster: EtcdCluster | undefined;
    const clients: Etcd3[] = [];

    before(async () => {
      cluster = await EtcdCluster.start();
    });
    after(async () => {
      clients.forEach((c) => c.close());
      await cluster?.stop();
    });

    function as(username: string, password: string): Etcd3 {
      const c = client(cluster!.endpoints, { auth: { username, password } });
      clients.push(c);
      return c;
    }

    it('enforces the reader, writer and root roles', async () => {
      const users = await cluster!.enableAuth();
      assert.deepStrictEqual(cluster!.auth, users);
      assert.notStrictEqual(users.reader.password, users.writer.password);

      const writer = as(users.writer.user, users.writer.password);
      await writer.put('/app/x').value('by-writer');
      await assert.rejects(writer.put('/other/x').value('nope').exec(), EtcdPermissionDeniedError);

      const reader = as(users.reader.user, users.reader.password);
      assert.strictEqual(await reader.get('/app/x').string(), 'by-writer');
      await assert.rejects(
        reader.put('/app/x').value('by-reader').exec(),
        (err: Error) => err instanceof EtcdPermissionDeniedError && /permission denied/.test(err.message),
      );

      const root = as(users.root.user, users.root.password);
      await root.put('/anywhere').value('by-root');
      assert.strictEqual(await root.get('/app/x').string(), 'by-writer');
    });

    it('rejects a wrong password and an anonymous client', async () => {
      const users = cluster!.auth;
      assert.ok(users, 'enableAuth ran in the previous test');
      await assert.rejects(
        as('reader', `${users.reader.password}-wrong`).get('/app/x').string(),
        EtcdAuthenticationFailedError,
      );
      const anonymous = client(cluster!.endpoints);
      clients.push(anonymous);
      await assert.rejects(anonymous.get('/app/x').string(), /user name is empty/);
    });

    it('passes credentials through etcdctl', async () => {
      const { reader, root } = cluster!.auth!;
      const read = await cluster!.etcdctl(['get', '/app/x', '--print-value-only'], reader);
      assert.strictEqual(read.code, 0, read.stderr);
      assert.strictEqual(read.stdout.trim(), 'by-writer');
      const write = await cluster!.etcdctl(['put', '/app/x', 'v'], reader);
      assert.notStrictEqual(write.code, 0);
      assert.match(write.stderr, /permission denied/);
      const viaStdin = await cluster!.etcdctl(['put', '/app/stdin'], { ...root, input: 'piped-value' });
      assert.strictEqual(viaStdin.code, 0, viaStdin.stderr);
      const check = await cluster!.etcdctl(['get', '/app/stdin', '--print-value-only'], root);
      assert.strictEqual(check.stdout.trim(), 'piped-value');
    });
  });

  describe('fault endpoints', () => {
    let blackhole: Blackhole | undefined;
    const sockets: net.Socket[] = [];
    const clients: Etcd3[] = [];

    afterEach(async () => {
      clients.splice(0).forEach((c) => c.close());
      sockets.splice(0).forEach((s) => s.destroy());
      await blackhole?.close();
      blackhole = undefined;
    });

    function connect(port: number): Promise<net.Socket> {
      return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        sockets.push(socket);
        socket.once('error', reject);
      });
    }

    it('blackhole accepts TCP, never answers, and drops sockets on close', async () => {
      blackhole = await startBlackhole();
      assert.strictEqual(blackhole.endpoint, `http://127.0.0.1:${blackhole.port}`);
      const socket = await connect(blackhole.port);
      let received = 0;
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.strictEqual(received, 0);
      const closed = new Promise((resolve) => socket.once('close', resolve));
      await blackhole.close();
      blackhole = undefined;
      await closed;
      assert.strictEqual(received, 0);
    });

    it('makes an etcd3 call hang until its deadline', async () => {
      blackhole = await startBlackhole();
      const etcd = client([blackhole.endpoint], {}, 500);
      clients.push(etcd);
      const started = Date.now();
      await assert.rejects(etcd.get('k').string(), /DEADLINE_EXCEEDED/);
      assert.ok(Date.now() - started >= 450, `failed after ${Date.now() - started} ms, before the deadline`);
    });

    it('dead endpoint refuses connections', async () => {
      const endpoint = await startDeadEndpoint();
      const port = Number(new URL(endpoint).port);
      assert.strictEqual(endpoint, `http://127.0.0.1:${port}`);
      await assert.rejects(connect(port), /ECONNREFUSED/);
    });

    it('freePort returns a bindable loopback port', async () => {
      const port = await freePort();
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    });
  });

  describe('cleanup', () => {
    const leftovers: string[] = [];
    after(() => leftovers.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

    it('stop() ends every member, removes the data dirs, and is idempotent', async () => {
      const cluster = await EtcdCluster.start({ size: 3 });
      const pids = cluster.members.map((m) => m.pid()!);
      const dirs = cluster.members.map((m) => m.dataDir);
      assert.ok(dirs.every((d) => fs.existsSync(d)));
      await cluster.stop();
      for (const pid of pids) {
        assert.throws(() => process.kill(pid, 0), /ESRCH/);
      }
      assert.ok(dirs.every((d) => !fs.existsSync(d) && !fs.existsSync(path.dirname(d))));
      assert.ok(cluster.members.every((m) => !m.running));
      await cluster.stop();
    });

    it('removeTlsFiles deletes the generated certificates', async () => {
      const tls = await makeTlsFiles();
      assert.ok(fs.existsSync(tls.serverKey));
      await removeTlsFiles(tls);
      assert.strictEqual(fs.existsSync(tls.dir), false);
    });

    it('reports the log tail when etcd cannot start', async () => {
      await assert.rejects(
        EtcdCluster.start({ extraArgs: ['--no-such-flag'] }),
        /exited during startup[\s\S]*no-such-flag/,
      );
    });

    for (const ending of ['uncaught exception', 'SIGINT', 'SIGKILL'] as const) {
      it(`leaves no etcd process behind when the test process dies by ${ending}`, async () => {
        const script = `
          const rig = require(${JSON.stringify(RIG_MODULE)});
          rig.EtcdCluster.start({ size: 2 }).then((c) => {
            console.log(JSON.stringify({ pids: c.members.map((m) => m.pid()), dirs: c.members.map((m) => m.dataDir) }));
            if (${JSON.stringify(ending)} === 'uncaught exception') setTimeout(() => { throw new Error('boom'); }, 10);
            else setInterval(() => undefined, 1000);
          });`;
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        let stdout = '';
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        const report = await new Promise<{ pids: number[]; dirs: string[] }>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            stdout += d;
            if (stdout.includes('\n')) {
              resolve(JSON.parse(stdout.split('\n')[0]));
            }
          });
          child.once('exit', (code) => reject(new Error(`child exited (${code}) before starting: ${stderr}`)));
        });
        leftovers.push(...report.dirs.map((d) => path.dirname(path.dirname(d))));
        assert.ok(report.pids.every((pid) => isAlive(pid)));
        if (ending !== 'uncaught exception') {
          child.kill(ending);
        }
        await exited;
        await waitUntil('every etcd member is gone', () => report.pids.every((pid) => !isAlive(pid)));
        if (ending !== 'SIGKILL') {
          // SIGKILL runs no handler, so only the parent-death signal reaps etcd; the dirs stay for the after hook.
          assert.ok(
            report.dirs.every((d) => !fs.existsSync(d)),
            'data dirs removed',
          );
        }
      });
    }
  });
});
