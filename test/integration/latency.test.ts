import * as assert from 'node:assert/strict';
import { MemberClients } from '../../src/etcd/cluster';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { countKeys } from '../../src/etcd/keyInfo';
import { LatencyProbe, OperationRecorder, PROBE_OPS, ProbeSample } from '../../src/etcd/latency/latency';
import { runLoadTest } from '../../src/etcd/latency/loadTest';
import { silentLogger } from '../../src/etcd/logger';
import { ServerMetricsSampler } from '../../src/etcd/serverMetrics';
import { readValue } from '../../src/etcd/values';
import { readFileSync } from 'node:fs';
import {
  EtcdCluster,
  TlsFiles,
  makeTlsFiles,
  registerCleanup,
  removeTlsFiles,
  startBlackhole,
  startDeadEndpoint,
} from '../rig/etcd';
import { until } from '../rig/wait';

registerCleanup();

const isRefusal = (kind: string) => (e: unknown) => e instanceof EtcdExplorerError && e.kind === kind;

describe('latency probes, server metrics and load test (real etcd, 3 members)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  const open: Array<{ close(): Promise<void> } | { dispose(): Promise<void> }> = [];

  function connect(opts: { readOnly?: boolean; timeoutMs?: number; retries?: number; endpoints?: string[] } = {}): {
    conn: EtcdConnection;
    clients: MemberClients;
  } {
    const conn = new EtcdConnection(
      {
        id: 'l',
        name: 'l',
        endpoints: opts.endpoints ?? cluster.endpoints,
        timeoutMs: opts.timeoutMs ?? 2000,
        retries: opts.retries,
        readOnly: opts.readOnly,
      },
      {},
      silentLogger,
    );
    const clients = new MemberClients(conn);
    open.push(clients, conn);
    return { conn, clients };
  }

  async function keysUnder(prefix: string): Promise<number> {
    const r = await cluster.etcdctl(['get', '--prefix', '--keys-only', prefix]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).length;
  }

  before(async () => {
    cluster = await EtcdCluster.start({ size: 3 });
  });
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await ('close' in o ? o.close() : o.dispose());
  });
  after(async () => cluster?.stop());

  it('probes every member with every op, each through its own client, and leaves no probe key behind', async () => {
    const { conn, clients } = connect();
    const probe = new LatencyProbe(conn, clients, {
      endpoints: cluster.endpoints,
      intervalMs: 50,
      windowMs: 60_000,
      probePrefix: '/probe/',
    });
    const seen: ProbeSample[] = [];
    probe.onSample((s) => seen.push(s));
    probe.start();
    try {
      await until(
        () => cluster.endpoints.every((e) => PROBE_OPS.every((op) => probe.stats(e, op).count >= 3)),
        30_000,
        'three samples per member and op',
      );
    } finally {
      await probe.stop();
    }
    for (const e of cluster.endpoints) {
      for (const op of PROBE_OPS) {
        const s = probe.stats(e, op);
        assert.equal(s.errors + s.timeouts, 0, `${e} ${op}`);
        assert.ok(s.p50 > 0 && s.p99 >= s.p50 && s.max >= s.p99, `${e} ${op}: ${JSON.stringify(s)}`);
        assert.equal(
          probe.histogram(e, op).counts.reduce((a, b) => a + b, 0),
          s.count,
        );
      }
    }
    assert.ok(seen.every((s) => s.outcome === 'ok' && cluster.endpoints.includes(s.endpoint)));
    // A member's ops run one after another, in order.
    const first = seen
      .filter((s) => s.endpoint === cluster.endpoints[1])
      .slice(0, 4)
      .map((s) => s.op);
    assert.deepEqual(first, [...PROBE_OPS]);
    assert.equal(await keysUnder('/probe/'), 0);
  });

  it('runs one round at a time per member, also across a quick stop() and start()', async () => {
    const { conn, clients } = connect();
    const probe = new LatencyProbe(conn, clients, {
      endpoints: [cluster.endpoints[0]],
      intervalMs: 10,
      windowMs: 60_000,
      probePrefix: '/restart-probe/',
    });
    const ops: string[] = [];
    probe.onSample((s) => ops.push(s.op));
    probe.start();
    await until(() => ops.length >= 4, 30_000, 'a first round');
    const stopping = probe.stop();
    probe.start(); // before the old loop has finished its request
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await until(() => stopped, 30_000, 'stop() to finish (a loop that survives the restart never lets it)');
    await until(() => ops.length >= 40, 30_000, 'ten rounds');
    await probe.stop();
    // Two loops for one member would interleave their rounds; one loop repeats the ops in order. The old loop
    // may end mid-round, so look at the rounds after the first restart's samples settle.
    const tail = ops.slice(ops.length - 24);
    const start = tail.indexOf(PROBE_OPS[0]);
    const rounds = tail.slice(start, start + 16);
    assert.deepEqual(rounds, [...PROBE_OPS, ...PROBE_OPS, ...PROBE_OPS, ...PROBE_OPS]);
    assert.equal(await keysUnder('/restart-probe/'), 0);
  });

  it('skips Put + Delete on a read-only profile and writes nothing', async () => {
    const { conn, clients } = connect({ readOnly: true });
    const probe = new LatencyProbe(conn, clients, {
      endpoints: cluster.endpoints,
      intervalMs: 50,
      windowMs: 60_000,
      probePrefix: '/ro-probe/',
    });
    const rev0 = (await conn.call('rev', (c) => c.kv.range({ key: Buffer.from('x') }))).header.revision;
    probe.start();
    try {
      await until(() => cluster.endpoints.every((e) => probe.stats(e, 'status').count >= 3), 30_000, 'status samples');
    } finally {
      await probe.stop();
    }
    for (const e of cluster.endpoints) {
      const pd = probe.stats(e, 'putDelete');
      assert.deepEqual([pd.count, pd.errors, pd.timeouts], [0, 0, 0]);
      assert.ok(probe.stats(e, 'rangeLinearizable').count >= 3);
    }
    await assert.rejects(probe.probeOnce(cluster.endpoints[0], 'putDelete'), isRefusal('readOnly'));
    const rev1 = (await conn.call('rev', (c) => c.kv.range({ key: Buffer.from('x') }))).header.revision;
    assert.equal(rev1, rev0, 'no write reached the cluster');
  });

  it('counts a killed member as errors/timeouts without throwing, while the others keep answering', async () => {
    const { conn, clients } = connect({ timeoutMs: 1000 });
    const probe = new LatencyProbe(conn, clients, {
      endpoints: cluster.endpoints,
      intervalMs: 50,
      windowMs: 60_000,
      probePrefix: '/kill-probe/',
    });
    probe.start();
    try {
      await until(() => probe.stats(cluster.endpoints[2], 'status').count >= 1, 30_000, 'first samples');
      await cluster.kill(2, 'SIGKILL');
      const dead = cluster.endpoints[2];
      const failures = () =>
        PROBE_OPS.reduce((n, op) => n + probe.stats(dead, op).errors + probe.stats(dead, op).timeouts, 0);
      await until(() => failures() >= 4, 30_000, 'failures counted for the killed member');
      const before = probe.stats(cluster.endpoints[0], 'rangeSerializable').count;
      await until(
        () => probe.stats(cluster.endpoints[0], 'rangeSerializable').count >= before + 3,
        30_000,
        'live member still probed',
      );
      assert.equal(probe.stats(cluster.endpoints[0], 'rangeSerializable').errors, 0);
    } finally {
      await probe.stop();
      await cluster.restart(2);
    }
    assert.equal(await keysUnder('/kill-probe/'), 0, 'probe keys deleted (also one a failed delete may have left)');
  });

  it('does not let a blackholed endpoint stall the other members', async () => {
    const hole = await startBlackhole();
    try {
      const endpoints = [cluster.endpoints[0], hole.endpoint];
      const { conn, clients } = connect({ timeoutMs: 800, endpoints: [cluster.endpoints[0]] });
      const probe = new LatencyProbe(conn, clients, {
        endpoints,
        intervalMs: 50,
        windowMs: 60_000,
        probePrefix: '/bh-probe/',
        ops: ['rangeSerializable', 'status'],
      });
      probe.start();
      try {
        // Each blackholed request waits for its deadline; meanwhile the live member gets round after round.
        await until(
          () =>
            probe.stats(hole.endpoint, 'rangeSerializable').timeouts +
              probe.stats(hole.endpoint, 'rangeSerializable').errors >=
            1,
          30_000,
          'blackhole failure',
        );
        const holeRounds = probe.stats(hole.endpoint, 'rangeSerializable');
        const live = probe.stats(endpoints[0], 'rangeSerializable');
        assert.ok(
          live.count >= 5 * (holeRounds.timeouts + holeRounds.errors),
          `live ${live.count} vs blackholed ${holeRounds.timeouts + holeRounds.errors}`,
        );
        assert.equal(holeRounds.count, 0);
      } finally {
        await probe.stop();
      }
    } finally {
      await hole.close();
    }
  });

  it('scrapes real members into non-empty series, and reports a dead port as ok=false', async () => {
    const { conn } = connect();
    const dead = await startDeadEndpoint();
    const sampler = new ServerMetricsSampler({ timeoutMs: 2000 });
    const [first, down] = await sampler.sample([cluster.endpoints[0], dead]);
    assert.equal(first.ok, true, first.error);
    for (const name of [
      'wal_fsync_p99_ms',
      'backend_commit_p99_ms',
      'db_size_bytes',
      'db_size_in_use_bytes',
      'proposals_pending',
      'leader_changes',
    ]) {
      assert.ok(Number.isFinite(first.values[name]), `${name} = ${first.values[name]}`);
    }
    assert.ok(first.values.wal_fsync_p99_ms > 0 && first.values.db_size_bytes > 0);
    assert.equal(down.ok, false);
    assert.match(down.error ?? '', /Could not read|unreachable|ECONNREFUSED/);
    assert.deepEqual(down.values, {});

    for (let i = 0; i < 30; i++)
      await conn.write('put', (c) => c.kv.put({ key: Buffer.from(`/metrics-load/${i}`), value: Buffer.from('v') }));
    const [second] = await sampler.sample([cluster.endpoints[0]]);
    assert.equal(second.ok, true, second.error);
    assert.ok(second.values.proposals_committed_per_s > 0, JSON.stringify(second.values));
    assert.ok(second.values.proposals_applied_per_s > 0);
    assert.ok(second.values.wal_fsync_per_s > 0 && second.values.wal_fsync_p99_ms > 0);
    assert.equal(second.values.proposals_failed_per_s, 0);
    assert.ok(
      Object.keys(second.values).some((k) => /^grpc_\w+_per_s$/.test(k)),
      'gRPC rates by method',
    );

    // Members probe each other's round trip every few seconds; a fresh cluster may not have measured one yet.
    let rtt: number | undefined;
    await until(
      async () => {
        rtt = (await new ServerMetricsSampler({ timeoutMs: 2000 }).sample([cluster.endpoints[1]]))[0].values
          .peer_rtt_p99_ms;
        return rtt !== undefined;
      },
      30_000,
      'a peer round-trip observation',
    );
    assert.ok(rtt! > 0 && Number.isFinite(rtt!));
  });

  it("records the extension's own calls by operation type, failures counted", async () => {
    const { conn } = connect();
    const recorder = new OperationRecorder(conn, 60_000);
    const seen: ProbeSample[] = [];
    recorder.onSample((s) => seen.push(s));
    try {
      await readValue(conn, Buffer.from('/a/one'));
      await readValue(conn, Buffer.from('config'));
      await countKeys(conn, Buffer.from('/a/'));
      await assert.rejects(
        conn.call('list /a/ at revision 999999', (c) => c.kv.range({ key: Buffer.from('/a/'), revision: '999999' })),
      );
    } finally {
      recorder.dispose();
    }
    await readValue(conn, Buffer.from('/after-dispose'));
    const stats = recorder.stats();
    assert.deepEqual([...stats.keys()].sort(), ['count keys', 'list', 'read']);
    assert.equal(stats.get('read')!.count, 2);
    assert.equal(stats.get('count keys')!.count, 1);
    assert.deepEqual([stats.get('list')!.count, stats.get('list')!.errors], [0, 1]);
    assert.equal(seen.length, 4);
    assert.ok(seen.every((s) => s.endpoint === '(client)'));
  });

  it('records a call that hits its deadline as a timeout, not an error', async () => {
    const hole = await startBlackhole();
    try {
      const { conn } = connect({ timeoutMs: 500, retries: 0, endpoints: [hole.endpoint] });
      const recorder = new OperationRecorder(conn, 60_000);
      const kinds: Array<string | undefined> = [];
      conn.onDidCall((c) => kinds.push(c.errorKind));
      try {
        await assert.rejects(readValue(conn, Buffer.from('/blackholed')), isRefusal('timeout'));
      } finally {
        recorder.dispose();
      }
      assert.deepEqual(kinds, ['timeout']);
      const read = recorder.stats().get('read')!;
      assert.deepEqual([read.count, read.errors, read.timeouts], [0, 0, 1]);
    } finally {
      await hole.close();
    }
  });

  it('runs a load test: writes N, reports throughput and latency, and leaves zero keys', async () => {
    const { conn } = connect({ timeoutMs: 5000 });
    const progress: number[] = [];
    const samples: ProbeSample[] = [];
    const result = await runLoadTest(
      conn,
      { clients: 10, totalOps: 300, valueBytes: 256 },
      {
        prefix: '/load/',
        onProgress: (p) => progress.push(p.done),
        onSample: (s) => samples.push(s),
      },
    );
    assert.equal(result.written, 300);
    assert.equal(result.errors, 0);
    assert.equal(result.cancelled, false);
    assert.equal(result.cleanedUp, 300);
    assert.ok(result.opsPerSecond > 0 && result.seconds > 0);
    assert.equal(result.latency.count, 300);
    assert.ok(result.latency.p50 > 0 && result.latency.max >= result.latency.p99);
    assert.equal(samples.length, 300);
    assert.equal(progress[progress.length - 1], 300);
    assert.match(result.prefix, /^\/load\/[^/]+\/$/);
    assert.equal(await keysUnder('/load/'), 0);
  });

  it('cleans up after a cancel midway, and refuses on a read-only profile', async () => {
    const { conn } = connect({ timeoutMs: 5000 });
    const controller = new AbortController();
    const result = await runLoadTest(
      conn,
      { clients: 5, totalOps: 5000, valueBytes: 64, ratePerSecond: 400 },
      {
        prefix: '/load-cancel/',
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done >= 50) controller.abort();
        },
      },
    );
    assert.equal(result.cancelled, true);
    assert.ok(result.written >= 50 && result.written < 5000, `wrote ${result.written}`);
    assert.equal(result.cleanedUp, result.written);
    assert.equal(await keysUnder('/load-cancel/'), 0);

    const ro = connect({ readOnly: true }).conn;
    await assert.rejects(
      runLoadTest(ro, { clients: 2, totalOps: 10, valueBytes: 8 }, { prefix: '/load-ro/' }),
      isRefusal('readOnly'),
    );
    await assert.rejects(
      runLoadTest(conn, { clients: 0, totalOps: 10, valueBytes: 8 }, { prefix: '/load-bad/' }),
      isRefusal('invalid'),
    );
    await assert.rejects(
      runLoadTest(conn, { clients: 1, totalOps: 10, valueBytes: 8 }, { prefix: '' }),
      isRefusal('invalid'),
    );
    assert.equal((await keysUnder('/load-ro/')) + (await keysUnder('/load-bad/')), 0);
  });
});

describe('latency probes and /metrics with TLS and auth (real etcd)', function () {
  this.timeout(60_000);
  let tls: TlsFiles;
  let cluster: EtcdCluster;
  before(async () => {
    tls = await makeTlsFiles();
    cluster = await EtcdCluster.start({ tls });
    await cluster.enableAuth();
  });
  after(async () => {
    await cluster?.stop();
    if (tls) await removeTlsFiles(tls);
  });

  it("probes through the profile's TLS and credentials, and scrapes /metrics with the client certificate", async () => {
    const conn = new EtcdConnection(
      {
        id: 't',
        name: 't',
        endpoints: cluster.endpoints,
        username: 'root',
        tls: { caFile: tls.caFile, certFile: tls.clientCert, keyFile: tls.clientKey },
        timeoutMs: 3000,
      },
      { password: cluster.auth!.root.password },
      silentLogger,
    );
    const clients = new MemberClients(conn);
    const probe = new LatencyProbe(conn, clients, {
      endpoints: cluster.endpoints,
      intervalMs: 50,
      windowMs: 60_000,
      probePrefix: '/tls-probe/',
    });
    try {
      for (const op of PROBE_OPS) {
        const s = await probe.probeOnce(cluster.endpoints[0], op);
        assert.equal(s.outcome, 'ok', `${op}: ${s.error}`);
      }
    } finally {
      await probe.stop();
      await clients.dispose();
      await conn.close();
    }
    const ca = readFileSync(tls.caFile);
    const [withCert] = await new ServerMetricsSampler({
      timeoutMs: 3000,
      tls: { ca, cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) },
    }).sample(cluster.endpoints);
    assert.equal(withCert.ok, true, withCert.error);
    assert.ok(withCert.values.wal_fsync_p99_ms > 0 && withCert.values.db_size_bytes > 0);
    // etcd asks for a client certificate (--client-cert-auth): without one the scrape fails, reported not thrown.
    const [withoutCert] = await new ServerMetricsSampler({ timeoutMs: 3000, tls: { ca } }).sample(cluster.endpoints);
    assert.equal(withoutCert.ok, false);
    assert.ok(withoutCert.error);
  });
});
