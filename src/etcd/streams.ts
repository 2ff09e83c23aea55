import { MemberClients } from './cluster';
import { EtcdConnection } from './connection';
import { errorText, translateError } from './errors';

/** The part of a grpc-js duplex stream (watch, keep-alive) the core needs to end one. */
export interface ClosableStream {
  end(): void;
  cancel?: () => void;
  removeAllListeners(): void;
  on(event: 'error', cb: (err: Error) => void): void;
}

/** A raw bidirectional etcd stream as grpc-js returns it. */
export interface DuplexStream<Req, Res> extends ClosableStream {
  write(req: Req): void;
  on(event: 'data', cb: (res: Res) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'end', cb: () => void): void;
}

/**
 * Ends a raw stream for good: drops its listeners (no late events), swallows the error that cancelling raises,
 * half-closes and cancels it so the server releases the watch/keep-alive and nothing keeps the process alive.
 */
export function endStream(stream: ClosableStream | undefined): void {
  if (!stream) return;
  stream.removeAllListeners();
  stream.on('error', () => undefined);
  try {
    stream.end();
    stream.cancel?.();
  } catch {
    // already closed
  }
}

/** The long-lived etcd streams the core keeps open. */
export type StreamService = 'watch' | 'keepAlive';

const GRPC_METHOD: Record<StreamService, { service: 'Watch' | 'Lease'; method: string }> = {
  watch: { service: 'Watch', method: 'watch' },
  keepAlive: { service: 'Lease', method: 'leaseKeepAlive' },
};

/** How etcd3's connection pool hands out a service client of its (single) host, with the auth metadata. */
interface Pool {
  withConnection<R>(
    service: 'Watch' | 'Lease',
    fn: (args: {
      client: Record<string, (metadata: unknown, options: object) => unknown>;
      metadata: { clone(): { set(key: string, value: string): void } };
    }) => R,
  ): Promise<R>;
}

/**
 * Calls `onSilent` once nothing was heard for `ms`. The check runs after the event loop has handled pending
 * I/O (setImmediate after the timer), so answers that arrived while the process was busy count as heard and a
 * slow client is not mistaken for a silent server.
 */
export class SilenceWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastHeard = Date.now();

  constructor(
    private readonly ms: number,
    private readonly onSilent: (lastHeard: number) => void,
  ) {}

  /** When the stream last said anything (or when the watchdog started). */
  get lastHeardAt(): number {
    return this.lastHeard;
  }

  start(): void {
    this.lastHeard = Date.now();
    this.arm(this.ms);
  }

  heard(): void {
    this.lastHeard = Date.now();
  }

  stop(): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        const quiet = Date.now() - this.lastHeard;
        if (quiet >= this.ms) this.onSilent(this.lastHeard);
        else this.arm(this.ms - quiet);
      });
    }, delay);
  }
}

/** Why a stream left a member; silence (a frozen or cut-off member) ranks it after members that failed fast. */
export type StreamTrouble = 'error' | 'silent';

interface EndpointRecord {
  lastAnswer: number;
  trouble?: { kind: StreamTrouble; since: number };
  /** Holds the connection's circuit for this endpoint open while it is silent (unary calls go elsewhere). */
  isolation?: { dispose(): void };
  probing: boolean;
}

/** How often a silent member is asked whether it answers again, and how long each probe may take. */
const PROBE_INTERVAL_MS = 1000;
const PROBE_DEADLINE_MS = 2000;

/**
 * Where the long-lived streams of one connection run. Streams open on one member at a time through a client
 * for that member only (so the member is known, and a silent one can be left), carrying etcd's `hasleader`
 * requirement (clientv3's WithRequireLeader): a member cut off from the leader cancels them instead of
 * serving a stale view. Members are tried in this order: those without trouble (the one that answered most
 * recently first), then those that failed fast, then silent ones — each group oldest trouble first. A silent
 * member also has the connection's circuit held open, so unary calls stop waiting out their deadline on it,
 * until a probe finds it answering (with a leader) again.
 */
export class StreamRouter {
  private static readonly routers = new WeakMap<EtcdConnection, StreamRouter>();
  private readonly members: MemberClients;
  private readonly records = new Map<string, EndpointRecord>();
  private readonly tracked: { dispose(): void };
  private disposed = false;

  /** The router of `conn`, created on first use and disposed when the connection closes. */
  static for(conn: EtcdConnection): StreamRouter {
    let router = StreamRouter.routers.get(conn);
    if (!router) {
      router = new StreamRouter(conn);
      StreamRouter.routers.set(conn, router);
    }
    return router;
  }

  private constructor(private readonly conn: EtcdConnection) {
    this.members = new MemberClients(conn);
    this.tracked = conn.trackStream({ stop: () => this.dispose() });
  }

  get endpointCount(): number {
    return this.conn.profile.endpoints.length;
  }

  /** Endpoints in the order a stream should try them. */
  order(): string[] {
    const rank = (r: EndpointRecord | undefined): number => (r?.trouble ? (r.trouble.kind === 'silent' ? 2 : 1) : 0);
    return this.conn.profile.endpoints
      .map((endpoint, index) => ({ endpoint, index, record: this.records.get(endpoint) }))
      .sort((a, b) => {
        const byRank = rank(a.record) - rank(b.record);
        if (byRank) return byRank;
        const byTrouble = (a.record?.trouble?.since ?? 0) - (b.record?.trouble?.since ?? 0);
        if (byTrouble) return byTrouble;
        const byAnswer = (b.record?.lastAnswer ?? 0) - (a.record?.lastAnswer ?? 0);
        return byAnswer || a.index - b.index;
      })
      .map((e) => e.endpoint);
  }

  /** Opens a raw stream on `endpoint` that the member cancels when it loses its leader. */
  async open<Req, Res>(endpoint: string, service: StreamService): Promise<DuplexStream<Req, Res>> {
    const member = this.members.for(endpoint);
    const { service: grpcService, method } = GRPC_METHOD[service];
    const pool = (member.client as unknown as { pool: Pool }).pool;
    return pool.withConnection(grpcService, ({ client, metadata }) => {
      // The auth metadata is shared by every call of the client: add the requirement to a copy.
      const md = metadata.clone();
      md.set('hasleader', 'true');
      return client[method](md, {}) as DuplexStream<Req, Res>;
    });
  }

  /** The member answered on a stream: it ranks first again and its circuit is released. */
  answered(endpoint: string): void {
    const record = this.record(endpoint);
    record.lastAnswer = Date.now();
    if (record.trouble) {
      record.trouble = undefined;
      record.isolation?.dispose();
      record.isolation = undefined;
    }
  }

  /** A stream on `endpoint` failed or went silent: others are tried first from now on. */
  failed(endpoint: string, kind: StreamTrouble): void {
    if (this.disposed) return;
    const record = this.record(endpoint);
    const since = Date.now();
    record.trouble = { kind: record.trouble?.kind === 'silent' ? 'silent' : kind, since };
    // Keep at least one endpoint for unary calls: never hold the last untroubled one open.
    const others = this.conn.profile.endpoints.filter((e) => e !== endpoint && !this.records.get(e)?.trouble);
    if (!record.isolation && others.length > 0) record.isolation = this.conn.isolateEndpoint(endpoint);
    if (record.isolation && !record.probing) void this.probe(endpoint, record);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    StreamRouter.routers.delete(this.conn);
    this.tracked.dispose();
    for (const record of this.records.values()) record.isolation?.dispose();
    this.records.clear();
    void this.members.dispose();
  }

  private record(endpoint: string): EndpointRecord {
    let record = this.records.get(endpoint);
    if (!record) {
      record = { lastAnswer: 0, probing: false };
      this.records.set(endpoint, record);
    }
    return record;
  }

  /** Asks a troubled member for its status until it answers with a leader, then releases it. */
  private async probe(endpoint: string, record: EndpointRecord): Promise<void> {
    record.probing = true;
    try {
      while (!this.disposed && record.trouble) {
        try {
          const status = await this.members
            .for(endpoint)
            .call(`probe ${endpoint}`, (c) => c.maintenance.status({ deadline: Date.now() + PROBE_DEADLINE_MS }));
          if (status.leader !== '0' && record.trouble) {
            this.answered(endpoint);
            return;
          }
        } catch {
          // still silent or down
        }
        await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS).unref());
      }
    } finally {
      record.probing = false;
    }
  }
}

/** The user-facing reason a stream left `endpoint`. */
export function streamFailureMessage(
  conn: EtcdConnection,
  operation: string,
  endpoint: string | undefined,
  err: unknown,
): string {
  const detail = errorText(err);
  if (/no leader/i.test(detail))
    return `${endpoint ?? 'the member'} has no leader (cut off from the cluster?); trying another member`;
  return translateError(err, {
    operation,
    endpoints: endpoint ? [endpoint] : conn.profile.endpoints,
    timeoutMs: conn.timeoutMs,
  }).message;
}

/** The user-facing reason for leaving a member that stopped answering. */
export function silenceMessage(endpoint: string | undefined, quietMs: number): string {
  return `no answer from ${endpoint ?? 'the member'} for ${(quietMs / 1000).toFixed(1)} s; trying another member`;
}
