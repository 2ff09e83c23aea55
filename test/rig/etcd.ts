/**
 * Real-etcd test rig: spawns throwaway etcd 3.4 members on loopback ports with temp data dirs, optionally
 * with TLS (client-cert auth) and RBAC, and offers fault injection (kill/restart members, blackholed and dead
 * endpoints). Everything listens on 127.0.0.1 only.
 *
 * Members are started through `setpriv --pdeathsig SIGKILL` when available, so even a test runner that is
 * itself SIGKILLed cannot leave etcd processes behind; `registerCleanup()` covers the ordinary exit paths.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

const HOST = '127.0.0.1';
const POLL_MS = 50;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 3_000;
const PORT_ATTEMPTS = 3;

/** Bind 127.0.0.1:0, read the port the kernel picked, and release it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}

/** PEM files for a TLS cluster; every path is inside `dir`. */
export interface TlsFiles {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing the cluster trusts, for "wrong CA" tests. */
  otherCaFile: string;
}

/** Options for {@link EtcdCluster.start}. */
export interface ClusterOptions {
  /** Number of members (default 1). */
  size?: number;
  /** Serve https client URLs with `--client-cert-auth --trusted-ca-file`. */
  tls?: TlsFiles;
  /** `--quota-backend-bytes`, e.g. 2 MiB to trip NOSPACE quickly. */
  quotaBackendBytes?: number;
  /** Appended to every member's command line. */
  extraArgs?: string[];
}

/** One etcd process of an {@link EtcdCluster}. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The member's combined stdout/stderr (zap JSON lines); survives restarts until the cluster stops. */
  readonly logFile: string;
  readonly running: boolean;
  pid(): number | undefined;
}

/** A user name and password created by {@link EtcdCluster.enableAuth}. */
export interface Credentials {
  user: string;
  password: string;
}

/** Users created by {@link EtcdCluster.enableAuth}: root, read-only on /app/, read-write on /app/. */
export interface AuthUsers {
  root: Credentials;
  reader: Credentials;
  writer: Credentials;
}

/** Result of an etcdctl run; a non-zero exit is reported in `code`, not thrown. */
export interface EtcdctlResult {
  stdout: string;
  stderr: string;
  code: number;
}

// Everything the exit handlers must reap, whoever forgot to call stop().
const liveProcesses = new Set<ChildProcess>();
const tempDirs = new Set<string>();

class Member implements EtcdMember {
  process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.process !== undefined;
  }

  pid(): number | undefined {
    return this.process?.pid;
  }

  spawn(args: string[]): void {
    const log = fs.openSync(this.logFile, 'a');
    try {
      const [command, argv] = fs.existsSync('/usr/bin/setpriv')
        ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', 'etcd', ...args]]
        : ['etcd', args];
      const child = spawn(command, argv, { stdio: ['ignore', log, log], env: etcdEnv() });
      // A forgotten cluster must not keep mocha alive; the exit handlers and pdeathsig reap it.
      child.unref();
      this.process = child;
      liveProcesses.add(child);
      this.exited = new Promise((resolve) => {
        const done = (): void => {
          liveProcesses.delete(child);
          if (this.process === child) {
            this.process = undefined;
          }
          resolve();
        };
        child.once('exit', done);
        child.once('error', done);
      });
    } finally {
      fs.closeSync(log);
    }
  }

  /** Signals the process and resolves once it has exited (no-op when not running). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child) {
      return this.exited;
    }
    child.ref(); // keep the event loop alive while we wait for the exit event
    child.kill(signal);
    await this.exited;
  }

  /** Sends a signal that does not end the process (SIGSTOP/SIGCONT). */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (!this.process) {
      throw new Error(`etcd ${this.name} is not running`);
    }
    this.process.kill(signal);
  }

  /** Resolves true once the process exits, or false after `ms`. */
  async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.exited.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** The log's error lines (a bad flag is reported above a long usage text) followed by its last lines. */
  tailLog(lines = 15): string {
    let all: string[];
    try {
      all = fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n');
    } catch {
      return '(no log)';
    }
    const tail = all.slice(-lines);
    const errors = all
      .slice(0, -lines)
      .filter((l) => /"level":"(error|fatal|panic)"|error|not defined|invalid|cannot|failed/i.test(l))
      .slice(-10);
    return [...errors, ...(errors.length ? ['...'] : []), ...tail].join('\n');
  }
}

/** A throwaway etcd cluster on loopback. Always `stop()` it in an after hook. */
export class EtcdCluster {
  private stopped = false;
  private authUsers: AuthUsers | undefined;

  private constructor(
    readonly members: EtcdMember[],
    private readonly rootDir: string,
    private readonly opts: ClusterOptions,
    private readonly baseArgs: (member: Member, state: 'new' | 'existing') => string[],
  ) {}

  /** Client URLs of all members, running or not. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The users from {@link enableAuth}, once it has run. */
  get auth(): AuthUsers | undefined {
    return this.authUsers;
  }

  /**
   * Spawns `size` members on free loopback ports with fresh data dirs under os.tmpdir()/etcd-rig-*, and
   * resolves once every member reports healthy. If a member dies during startup (usually a port taken between
   * `freePort()` and bind) the whole attempt is torn down and retried on new ports; the final error carries
   * the tail of the failed member's log.
   */
  static async start(opts: ClusterOptions = {}): Promise<EtcdCluster> {
    registerCleanup();
    const size = opts.size ?? 1;
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`cluster size must be a positive integer, got ${size}`);
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const cluster = await EtcdCluster.create(size, opts);
      try {
        // One at a time: a new member asks its peers whether it is already bootstrapped, and a peer whose port
        // is bound but not yet served makes that check wait 1 s per peer.
        for (const m of cluster.members as Member[]) {
          m.spawn(cluster.baseArgs(m, 'new'));
          await cluster.waitPeerServing(m);
        }
        await Promise.all(cluster.members.map((_, i) => cluster.waitHealthy(i)));
        return cluster;
      } catch (err) {
        lastError = err;
        await cluster.stop();
      }
    }
    throw lastError;
  }

  private static async create(size: number, opts: ClusterOptions): Promise<EtcdCluster> {
    const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-rig-'));
    tempDirs.add(rootDir);
    const scheme = opts.tls ? 'https' : 'http';
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      const dir = path.join(rootDir, `m${i}`);
      fs.mkdirSync(dir);
      members.push(
        new Member(
          `m${i}`,
          `${scheme}://${HOST}:${clientPort}`,
          `http://${HOST}:${peerPort}`,
          path.join(dir, 'data'),
          path.join(dir, 'etcd.log'),
        ),
      );
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `rig-${crypto.randomBytes(6).toString('hex')}`;
    const baseArgs = (m: Member, state: 'new' | 'existing'): string[] => [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${token}`,
      `--initial-cluster-state=${state}`,
      '--logger=zap',
      '--log-outputs=stderr',
      // A lone member has nobody to lose touch with, so a short election timeout costs no stability and cuts
      // its first election from up to 1 s to at most 100 ms. Multi-member clusters keep etcd's defaults.
      ...(size === 1 ? ['--heartbeat-interval=10', '--election-timeout=100'] : []),
      ...(opts.tls
        ? [
            `--cert-file=${opts.tls.serverCert}`,
            `--key-file=${opts.tls.serverKey}`,
            '--client-cert-auth',
            `--trusted-ca-file=${opts.tls.caFile}`,
          ]
        : []),
      ...(opts.quotaBackendBytes !== undefined ? [`--quota-backend-bytes=${opts.quotaBackendBytes}`] : []),
      ...(opts.extraArgs ?? []),
    ];
    return new EtcdCluster(members, rootDir, opts, baseArgs);
  }

  /** Sends `signal` (default SIGKILL) to member `index` and waits for the process to exit. */
  async kill(index: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    await this.member(index).kill(signal);
  }

  /**
   * Freezes member `index` with SIGSTOP: its sockets stay open but it answers nothing, like a member stuck on
   * a disk, in a GC or VM pause, or behind a half-open network path. {@link thaw} resumes it; stop() thaws
   * before stopping.
   */
  freeze(index: number): void {
    this.member(index).signal('SIGSTOP');
  }

  /** Resumes a member frozen by {@link freeze} (SIGCONT). */
  thaw(index: number): void {
    this.member(index).signal('SIGCONT');
  }

  /**
   * Starts member `index` again on its old ports and data dir (`--initial-cluster-state existing`) and waits
   * until it is healthy. A still-running member is SIGTERMed first. Healthy needs a quorum, so restart
   * enough members for one.
   */
  async restart(index: number): Promise<void> {
    const member = this.member(index);
    if (this.stopped) {
      throw new Error('cluster is stopped');
    }
    await member.kill('SIGTERM');
    member.spawn(this.baseArgs(member, 'existing'));
    await this.waitHealthy(index);
  }

  /**
   * Polls until member `index` serves requests: GET /health says true, or (with an active alarm such as
   * NOSPACE, which makes etcd 3.4 report unhealthy) the member at least has a leader. Fails fast with the log
   * tail if the process exits, and after 20 s.
   */
  async waitHealthy(index: number, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const member = this.member(index);
    const deadline = Date.now() + timeoutMs;
    let lastProblem: string;
    for (;;) {
      if (!member.running) {
        throw new Error(`etcd ${member.name} exited during startup. Log tail:\n${member.tailLog()}`);
      }
      try {
        const health = await this.httpRequest(member, 'GET', '/health');
        if (/"health"\s*:\s*"?true/.test(health.body)) {
          return;
        }
        lastProblem = `/health answered ${health.status} ${health.body.trim()}`;
        if ((await this.metric(member, 'etcd_server_has_leader')) === 1 && (await this.hasAlarms(member))) {
          return;
        }
      } catch (err) {
        lastProblem = String(err);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `etcd ${member.name} not healthy after ${timeoutMs} ms (${lastProblem}). Log tail:\n${member.tailLog()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  private async waitPeerServing(member: Member): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!member.running) {
        throw new Error(`etcd ${member.name} exited during startup. Log tail:\n${member.tailLog()}`);
      }
      try {
        await plainRequest(new URL('/members', member.peerUrl), {});
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new Error(`etcd ${member.name} never served its peer URL. Log tail:\n${member.tailLog()}`);
        }
      }
      await sleep(POLL_MS / 5);
    }
  }

  /**
   * Index of the member that currently leads, read from each live member's `etcd_server_is_leader` metric.
   * Polls (up to 20 s) while an election is in progress.
   */
  async leaderIndex(): Promise<number> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      for (let i = 0; i < this.members.length; i++) {
        const m = this.members[i] as Member;
        if (m.running && (await this.metric(m, 'etcd_server_is_leader').catch(() => 0)) === 1) {
          return i;
        }
      }
      if (Date.now() > deadline) {
        throw new Error('no member reports itself leader');
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Runs etcdctl (API v3) against the live members, with TLS flags when the cluster uses TLS. Never throws
   * for a non-zero exit; check `code`.
   */
  async etcdctl(
    args: string[],
    opts: { user?: string; password?: string; input?: string } = {},
  ): Promise<EtcdctlResult> {
    const live = this.members.filter((m) => m.running).map((m) => m.clientUrl);
    const tls = this.opts.tls;
    const argv = [
      `--endpoints=${(live.length ? live : this.endpoints).join(',')}`,
      '--dial-timeout=2s',
      '--command-timeout=5s',
      ...(tls ? [`--cacert=${tls.caFile}`, `--cert=${tls.clientCert}`, `--key=${tls.clientKey}`] : []),
      ...(opts.user !== undefined
        ? opts.password !== undefined
          ? [`--user=${opts.user}`, `--password=${opts.password}`]
          : [`--user=${opts.user}`]
        : []),
      ...args,
    ];
    const env = stripEnv('ETCDCTL_');
    env.ETCDCTL_API = '3';
    return new Promise((resolve, reject) => {
      const child = execFile('etcdctl', argv, { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && typeof err.code !== 'number' && !err.killed) {
          reject(err);
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      });
      child.stdin?.end(opts.input ?? '');
    });
  }

  /**
   * Turns on RBAC: user root (random password) with role root; role "reader" (read on prefix /app/) and user
   * "reader"; role "writer" (readwrite on /app/) and user "writer"; then `auth enable`.
   */
  async enableAuth(): Promise<AuthUsers> {
    const users: AuthUsers = {
      root: { user: 'root', password: randomPassword() },
      reader: { user: 'reader', password: randomPassword() },
      writer: { user: 'writer', password: randomPassword() },
    };
    const steps: string[][] = [
      ['user', 'add', 'root', `--new-user-password=${users.root.password}`],
      ['user', 'grant-role', 'root', 'root'],
      ['role', 'add', 'reader'],
      ['role', 'grant-permission', '--prefix=true', 'reader', 'read', '/app/'],
      ['user', 'add', 'reader', `--new-user-password=${users.reader.password}`],
      ['user', 'grant-role', 'reader', 'reader'],
      ['role', 'add', 'writer'],
      ['role', 'grant-permission', '--prefix=true', 'writer', 'readwrite', '/app/'],
      ['user', 'add', 'writer', `--new-user-password=${users.writer.password}`],
      ['user', 'grant-role', 'writer', 'writer'],
      ['auth', 'enable'],
    ];
    for (const step of steps) {
      const r = await this.etcdctl(step);
      if (r.code !== 0) {
        throw new Error(`etcdctl ${step.slice(0, 3).join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      }
    }
    this.authUsers = users;
    return users;
  }

  /**
   * SIGTERMs the members one by one, SIGKILLs any still alive after 3 s, and removes the data dirs and logs.
   * Idempotent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    // One at a time: a SIGTERMed leader hands leadership over first, and when every member is stopping at once
    // that handover times out (a parallel stop of 3 members took 7 s, sequential ~0.2 s).
    for (const m of this.members as Member[]) {
      if (!m.running) {
        continue;
      }
      m.signal('SIGCONT'); // a frozen member would ignore SIGTERM until the grace period ran out
      const exited = m.kill('SIGTERM');
      if (!(await m.exitWithin(STOP_GRACE_MS))) {
        await m.kill('SIGKILL');
      }
      await exited;
    }
    fs.rmSync(this.rootDir, { recursive: true, force: true });
    tempDirs.delete(this.rootDir);
  }

  private member(index: number): Member {
    const m = this.members[index];
    if (!m) {
      throw new RangeError(`no member ${index} (cluster has ${this.members.length})`);
    }
    return m as Member;
  }

  private async metric(member: Member, name: string): Promise<number | undefined> {
    const { body } = await this.httpRequest(member, 'GET', '/metrics');
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
    return match ? Number(match[1]) : undefined;
  }

  /** True when the member lists an alarm, or refuses to say because auth is on. */
  private async hasAlarms(member: Member): Promise<boolean> {
    const r = await this.httpRequest(member, 'POST', '/v3/maintenance/alarm', '{"action":"GET"}');
    return r.status !== 200 || /"alarms"\s*:\s*\[\s*\{/.test(r.body);
  }

  private httpRequest(
    member: Member,
    method: string,
    urlPath: string,
    body?: string,
  ): Promise<{ status: number; body: string }> {
    const tls = this.opts.tls;
    const options: https.RequestOptions = { method };
    if (tls) {
      options.ca = fs.readFileSync(tls.caFile);
      options.cert = fs.readFileSync(tls.clientCert);
      options.key = fs.readFileSync(tls.clientKey);
    }
    return plainRequest(new URL(urlPath, member.clientUrl), options, body);
  }
}

function plainRequest(
  url: URL,
  options: https.RequestOptions,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { timeout: 2_000, agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Creates, with openssl, a CA; a server cert signed by it (SAN IP:127.0.0.1, DNS:localhost; serverAuth and
 * clientAuth, since etcd's gateway dials itself with it); a client cert (CN=client) signed by it; and an
 * unrelated second CA. P-256 keys keep this well under a second. Remove with {@link removeTlsFiles}.
 */
export async function makeTlsFiles(): Promise<TlsFiles> {
  registerCleanup();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-rig-tls-'));
  tempDirs.add(dir);
  const f = (name: string): string => path.join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) =>
      execFile('openssl', args, { cwd: dir }, (err, _stdout, stderr) =>
        err ? reject(new Error(`openssl ${args[0]} failed: ${stderr || err.message}`)) : resolve(),
      ),
    );
  const makeCa = (name: string, cn: string): Promise<void> =>
    openssl([
      'req',
      '-x509',
      ...key,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
      '-days',
      '30',
      '-subj',
      `/CN=${cn}`,
    ]);
  const makeLeaf = async (name: string, cn: string, ext: string): Promise<void> => {
    fs.writeFileSync(f(`${name}.ext`), ext);
    await openssl(['req', '-new', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await openssl([
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    ]);
  };
  try {
    await Promise.all([makeCa('ca', 'etcd-rig-ca'), makeCa('other-ca', 'etcd-rig-other-ca')]);
    await makeLeaf(
      'server',
      '127.0.0.1',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    await makeLeaf('client', 'client', 'extendedKeyUsage=clientAuth\n');
  } catch (err) {
    await removeTlsFiles({ dir } as TlsFiles);
    throw err;
  }
  return {
    dir,
    caFile: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCaFile: f('other-ca.crt'),
  };
}

/** Deletes the directory made by {@link makeTlsFiles}. */
export async function removeTlsFiles(files: TlsFiles): Promise<void> {
  fs.rmSync(files.dir, { recursive: true, force: true });
  tempDirs.delete(files.dir);
}

/** A TCP listener that accepts connections and never sends a byte: calls to it hang until their deadline. */
export interface Blackhole {
  port: number;
  /** http://127.0.0.1:port */
  endpoint: string;
  /** Destroys every accepted socket and stops listening. */
  close(): Promise<void>;
}

/** Starts a {@link Blackhole} on a free loopback port. */
export async function startBlackhole(): Promise<Blackhole> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    endpoint: `http://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL with nothing listening (connections are refused): http://127.0.0.1:port */
export async function startDeadEndpoint(): Promise<string> {
  return `http://${HOST}:${await freePort()}`;
}

let cleanupRegistered = false;

/**
 * Installs process 'exit', SIGINT and SIGTERM handlers that SIGKILL every member still alive and delete the
 * rig's temp dirs. Idempotent; {@link EtcdCluster.start} and {@link makeTlsFiles} call it too.
 */
export function registerCleanup(): void {
  if (cleanupRegistered) {
    return;
  }
  cleanupRegistered = true;
  const reap = (): void => {
    for (const child of liveProcesses) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of tempDirs) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  process.on('exit', reap);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reap();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

function etcdEnv(): NodeJS.ProcessEnv {
  // etcd refuses to start when an ETCD_* variable shadows a flag we pass.
  const env = stripEnv('ETCD_');
  const supported: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x' };
  if (!supported[process.arch]) {
    env.ETCD_UNSUPPORTED_ARCH = process.arch === 'arm' ? 'arm' : process.arch;
  }
  return env;
}

function stripEnv(prefix: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith(prefix)));
}

function randomPassword(): string {
  return crypto.randomBytes(12).toString('base64url');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
