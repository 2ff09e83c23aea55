import { readFileSync } from 'node:fs';
import {
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
} from 'cockatiel';
import type { Etcd3, IOptions } from 'etcd3';
import { etcd3 } from './etcd3Module';
import { EtcdErrorKind, EtcdExplorerError, cancelledError, translateError } from './errors';
import { Emitter, Event } from './events';
import { Logger, componentLogger } from './logger';
import { ConnectionProfile, DEFAULT_RETRIES, DEFAULT_TIMEOUT_MS } from './profile';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'unreachable';

/** What the status bar shows: one Status answer plus the member list. */
export interface ClusterSummary {
  readonly version: string;
  readonly leaderId: string;
  readonly leaderName?: string;
  readonly memberCount: number;
  readonly clusterId: string;
  readonly revision: string;
  readonly dbSize: number;
}

/** Reported after every call, for the latency view of the extension's own operations. */
export interface CallSample {
  readonly operation: string;
  readonly ms: number;
  readonly ok: boolean;
  /** Why a failed call failed, so latency views can count timeouts apart from other errors. */
  readonly errorKind?: EtcdErrorKind;
}

/** Anything long-lived on the client (watch streams, keep-alives) that must end before the client closes. */
export interface Stoppable {
  stop(): Promise<void> | void;
}

export interface ConnectionSecrets {
  readonly password?: string;
}

export interface ConnectionTuning {
  /** Largest response the client accepts (grpc-js defaults to 4 MiB; a 1.5 MiB value plus metadata fits easily). */
  readonly maxReceiveBytes?: number;
}

const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** Time a host's circuit stays open after repeated network failures, so calls fail fast instead of piling up. */
const HALF_OPEN_AFTER_MS = 3000;

/**
 * gRPC keepalive on every channel: a member that stops answering (frozen, half-open path) fails the streams on
 * it within time + timeout even when nothing else checks them. etcd closes connections that ping more often
 * than its --grpc-keepalive-min-time (5 s by default) with too_many_pings, so stay well above it; pings are
 * sent only while a call is active (etcd refuses pings without streams by default).
 */
const KEEPALIVE_TIME_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;

/**
 * One etcd3 client per profile, reused for every call. Every unary call carries a gRPC deadline (etcd3
 * ignores dialTimeout), retries are bounded with exponential backoff, and every error leaves here as an
 * {@link EtcdExplorerError}. Writes go through {@link write}, which enforces the read-only flag.
 */
export class EtcdConnection {
  private clientInstance: Etcd3 | undefined;
  private currentState: ConnectionState = 'disconnected';
  private summaryValue: ClusterSummary | undefined;
  private lastErrorValue: EtcdExplorerError | undefined;
  private readonly streams = new Set<Stoppable>();
  private readonly hostBreakers = new Map<string, CircuitBreakerPolicy>();
  private readonly stateEmitter = new Emitter<ConnectionState>();
  private readonly callEmitter = new Emitter<CallSample>();
  private readonly log: Logger;
  private readonly namespacePrefix: Buffer;

  /** Fires whenever {@link state} changes. */
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;
  /** Fires after every call with its duration. */
  readonly onDidCall: Event<CallSample> = this.callEmitter.event;

  constructor(
    readonly profile: ConnectionProfile,
    private readonly secrets: ConnectionSecrets,
    private readonly baseLog: Logger,
    private readonly tuning: ConnectionTuning = {},
  ) {
    this.log = componentLogger(baseLog, `connection ${profile.name}`);
    this.namespacePrefix = Buffer.from(profile.namespace ?? '', 'utf8');
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  get summary(): ClusterSummary | undefined {
    return this.summaryValue;
  }

  get lastError(): EtcdExplorerError | undefined {
    return this.lastErrorValue;
  }

  get timeoutMs(): number {
    return this.profile.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get retries(): number {
    return this.profile.retries ?? DEFAULT_RETRIES;
  }

  get readOnly(): boolean {
    return this.profile.readOnly === true;
  }

  /** The namespace prefix as bytes (empty when the profile has none). */
  get namespace(): Buffer {
    return this.namespacePrefix;
  }

  /** Absolute key for a key relative to the namespace. */
  absoluteKey(relative: Buffer): Buffer {
    return this.namespacePrefix.length ? Buffer.concat([this.namespacePrefix, relative]) : relative;
  }

  /** Key relative to the namespace for an absolute key from the server. */
  relativeKey(absolute: Buffer): Buffer {
    return absolute.subarray(this.namespacePrefix.length);
  }

  /** The shared client, created on first use. */
  get client(): Etcd3 {
    if (!this.clientInstance) this.clientInstance = this.createClient();
    return this.clientInstance;
  }

  /**
   * Checks the cluster answers (Status + MemberList) and records the summary. Errors are translated and also
   * leave the connection in the `unreachable` state.
   */
  async connect(signal?: AbortSignal): Promise<ClusterSummary> {
    this.setState('connecting');
    const summary = await this.call(
      'connect',
      async (client) => {
        const status = await client.maintenance.status();
        const members = await client.cluster.memberList({ linearizable: false });
        const leader = members.members.find((m) => m.ID === status.leader);
        // Set before call() reports "connected", so listeners see the summary with the state.
        this.summaryValue = {
          version: status.version,
          leaderId: status.leader,
          leaderName: leader?.name || undefined,
          memberCount: members.members.length,
          clusterId: status.header.cluster_id,
          revision: status.header.revision,
          dbSize: Number(status.dbSize),
        };
        return this.summaryValue;
      },
      signal,
    );
    this.log.info(
      `connected: etcd ${summary.version}, ${summary.memberCount} member(s), leader ${summary.leaderName ?? summary.leaderId}`,
    );
    return summary;
  }

  /**
   * Runs a read (or any call) with error translation, latency reporting and cancellation. `operation` is
   * phrased for messages: "list keys" → "Could not list keys: …".
   */
  async call<T>(operation: string, fn: (client: Etcd3) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw cancelledError();
    const started = performance.now();
    try {
      const result = await raceAbort(fn(this.client), signal);
      this.callEmitter.fire({ operation, ms: performance.now() - started, ok: true });
      this.lastErrorValue = undefined;
      if (this.currentState !== 'connected') this.setState('connected');
      return result;
    } catch (err) {
      const error = translateError(err, { operation, endpoints: this.profile.endpoints, timeoutMs: this.timeoutMs });
      if (error.kind === 'cancelled') throw error;
      this.callEmitter.fire({ operation, ms: performance.now() - started, ok: false, errorKind: error.kind });
      this.log.warn(`${operation} failed (${error.kind}): ${error.detail ?? error.message}`);
      this.lastErrorValue = error;
      if (error.kind === 'unreachable' || error.kind === 'timeout' || error.kind === 'tls') {
        this.setState('unreachable');
      }
      throw error;
    }
  }

  /** Like {@link call}, but refused up front on a read-only profile. Every write in the core goes through here. */
  async write<T>(operation: string, fn: (client: Etcd3) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.assertWritable(operation);
    return this.call(operation, fn, signal);
  }

  assertWritable(operation: string): void {
    if (this.readOnly) {
      throw new EtcdExplorerError(
        'readOnly',
        `Connection "${this.profile.name}" is read-only: refusing to ${operation}. Edit the connection to allow writes.`,
      );
    }
  }

  /**
   * A separate connection to one endpoint with this profile's TLS, credentials and deadline (per-member Status,
   * HashKV, defragment, snapshot). No retries: a dead member is reported as such, fast.
   */
  forEndpoint(endpoint: string): EtcdConnection {
    return new EtcdConnection(
      { ...this.profile, id: `${this.profile.id}@${endpoint}`, endpoints: [endpoint], retries: 0 },
      this.secrets,
      this.baseLog,
      this.tuning,
    );
  }

  /** Registers a stream that {@link close} stops before closing the client. */
  trackStream(stream: Stoppable): { dispose(): void } {
    this.streams.add(stream);
    return { dispose: () => this.streams.delete(stream) };
  }

  /**
   * Holds this connection's circuit for `endpoint` open until the handle is disposed: calls go to the other
   * endpoints instead of waiting out their deadline on a member that stopped answering. Undefined when the
   * endpoint is not one of this client's hosts (or no client exists yet).
   */
  isolateEndpoint(endpoint: string): { dispose(): void } | undefined {
    const breaker = this.hostBreakers.get(endpoint);
    if (!breaker) return undefined;
    this.log.info(`${endpoint} stopped answering a stream: calls avoid it until it answers again`);
    const handle = breaker.isolate();
    return {
      dispose: () => {
        if (this.hostBreakers.get(endpoint) === breaker) this.log.info(`${endpoint} answers again`);
        handle.dispose();
      },
    };
  }

  /** Stops streams first (watchers keep the process alive otherwise), then closes the client. Idempotent. */
  async close(): Promise<void> {
    const streams = [...this.streams];
    this.streams.clear();
    await Promise.allSettled(streams.map((s) => s.stop()));
    const client = this.clientInstance;
    this.clientInstance = undefined;
    this.hostBreakers.clear();
    this.summaryValue = undefined;
    if (client) {
      client.close();
      this.log.info('disconnected');
    }
    this.setState('disconnected');
  }

  dispose(): void {
    void this.close();
    this.stateEmitter.dispose();
    this.callEmitter.dispose();
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private createClient(): Etcd3 {
    const { Etcd3, isRecoverableError } = etcd3();
    const timeoutMs = this.timeoutMs;
    const options: IOptions = {
      hosts: [...this.profile.endpoints],
      grpcOptions: {
        'grpc.max_receive_message_length': this.tuning.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
        'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
        'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
        'grpc.keepalive_permit_without_calls': 0,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      faultHandling: {
        global: retry(handleWhen(isRecoverableError), {
          maxAttempts: this.retries,
          backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }),
        }),
        host: (endpoint) => {
          const breaker = circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: HALF_OPEN_AFTER_MS,
            breaker: new ConsecutiveBreaker(3),
          });
          this.hostBreakers.set(endpoint, breaker);
          return breaker;
        },
      },
    };
    const tls = this.profile.tls;
    if (tls || this.profile.endpoints.some((e) => e.startsWith('https:'))) {
      options.credentials = {
        rootCertificate: tls?.caFile ? readPem(tls.caFile, 'CA file') : (undefined as unknown as Buffer),
        certChain: tls?.certFile ? readPem(tls.certFile, 'client certificate') : undefined,
        privateKey: tls?.keyFile ? readPem(tls.keyFile, 'client key') : undefined,
      };
    }
    if (this.profile.username) {
      options.auth = { username: this.profile.username, password: this.secrets.password ?? '' };
    }
    this.log.debug(
      `client for ${this.profile.endpoints.join(', ')} (timeout ${timeoutMs} ms, retries ${this.retries}` +
        `${tls ? ', TLS' : ''}${this.profile.username ? `, user ${this.profile.username}` : ''})`,
    );
    return new Etcd3(options);
  }
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new EtcdExplorerError('config', `The ${what} "${path}" ${reason}. Edit the connection's TLS settings.`);
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
