import { EtcdConnection } from './connection';
import { EtcdExplorerError } from './errors';
import { Emitter, Event } from './events';
import { displayKey, prefixEnd } from './keyCodec';
import { DuplexStream, StreamRouter, endStream, silenceMessage, streamFailureMessage } from './streams';

/** One lease as TimeToLive reported it at `fetchedAt`. Ids stay decimal strings (64-bit). */
export interface LeaseInfo {
  readonly id: string;
  readonly grantedTtl: number;
  /** Seconds left at `fetchedAt`; -1 when the lease had already expired. */
  readonly ttl: number;
  /** Local clock (ms) of the TimeToLive answer, so the countdown needs no re-query. */
  readonly fetchedAt: number;
  /** Attached keys, relative to the namespace (keys outside it are counted in `foreignKeys`). */
  readonly keys: Buffer[];
  readonly foreignKeys: number;
}

/** etcdctl shows lease ids in hex. */
export function leaseHex(id: string): string {
  // etcdctl prints lease ids as %016x (zero-padded); "0" means no lease and stays "0".
  const n = BigInt(id);
  return n === 0n ? '0' : n.toString(16).padStart(16, '0');
}

/** A lease id typed as etcdctl prints it (hex, optional 0x) → the decimal string the API uses. */
export function parseLeaseId(text: string): string {
  const t = text.trim().toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{1,16}$/.test(t)) return BigInt(`0x${t}`).toString();
  throw new EtcdExplorerError('invalid', `"${text}" is not a lease id (hex, as etcdctl shows it).`);
}

/** Seconds left now, counted down locally from the last answer. */
export function remainingTtl(lease: LeaseInfo, now = Date.now()): number {
  if (lease.ttl < 0) return -1;
  return Math.max(0, lease.ttl - (now - lease.fetchedAt) / 1000);
}

/** TimeToLive with keys for one lease. */
export async function inspectLease(conn: EtcdConnection, id: string, signal?: AbortSignal): Promise<LeaseInfo> {
  const res = await conn.call(
    `inspect lease ${leaseHex(id)}`,
    (c) => c.leaseClient.leaseTimeToLive({ ID: id, keys: true }),
    signal,
  );
  const ns = conn.namespace;
  const keys = res.keys.filter((k) => k.subarray(0, ns.length).equals(ns)).map((k) => conn.relativeKey(k));
  return {
    id,
    grantedTtl: Number(res.grantedTTL),
    ttl: Number(res.TTL),
    fetchedAt: Date.now(),
    keys,
    foreignKeys: res.keys.length - keys.length,
  };
}

/**
 * Every lease: LeaseLeases for the ids, then TimeToLive with keys in batches of bounded concurrency (so 10,000
 * leases neither flood the server nor block), reporting progress.
 */
export async function listLeases(
  conn: EtcdConnection,
  options: { concurrency?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<LeaseInfo[]> {
  const res = await conn.call('list leases', (c) => c.leaseClient.leaseLeases(), options.signal);
  const ids = res.leases.map((l) => l.ID);
  const out: LeaseInfo[] = new Array(ids.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(ids.length, options.concurrency ?? 8) }, async () => {
      while (next < ids.length) {
        const i = next++;
        try {
          out[i] = await inspectLease(conn, ids[i], options.signal);
        } catch (err) {
          // A lease that expired between the two calls is reported as expired, not as an error.
          if (err instanceof EtcdExplorerError && /lease not found/i.test(err.detail ?? '')) {
            out[i] = { id: ids[i], grantedTtl: 0, ttl: -1, fetchedAt: Date.now(), keys: [], foreignKeys: 0 };
          } else throw err;
        }
        options.onProgress?.(++done, ids.length);
      }
    }),
  );
  return out.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

export async function grantLease(conn: EtcdConnection, ttlSeconds: number, id?: string): Promise<string> {
  const res = await conn.write(`grant a ${ttlSeconds} s lease`, (c) =>
    c.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id ?? '0' }),
  );
  return res.ID;
}

/** Revokes a lease; etcd deletes every key attached to it. */
export async function revokeLease(conn: EtcdConnection, id: string): Promise<void> {
  await conn.write(`revoke lease ${leaseHex(id)}`, (c) => c.leaseClient.leaseRevoke({ ID: id }));
}

type KeepAliveStream = DuplexStream<{ ID: string }, { ID: string; TTL: string }>;

/** One keep-alive: the new TTL, or an error when the lease no longer exists. */
export async function keepAliveOnce(conn: EtcdConnection, id: string): Promise<number> {
  const ttl = await conn.write(`keep lease ${leaseHex(id)} alive`, async (c) => {
    const stream = (await c.leaseClient.leaseKeepAlive()) as unknown as KeepAliveStream;
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('deadline exceeded waiting for the keep-alive answer')),
          conn.timeoutMs,
        );
        stream.on('data', (res) => {
          clearTimeout(timer);
          resolve(Number(res.TTL));
        });
        stream.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.write({ ID: id });
      });
    } finally {
      endStream(stream);
    }
  });
  if (ttl <= 0)
    throw new EtcdExplorerError(
      'invalid',
      `Lease ${leaseHex(id)} no longer exists (it expired or was revoked); its keys are gone.`,
    );
  return ttl;
}

export type KeepAliveState =
  | { readonly state: 'alive'; readonly ttl: number; readonly at: number; readonly endpoint: string }
  /**
   * An answer is overdue or the stream failed after the lease was confirmed at `since` (local ms): the
   * session is moving to another member. Shown as "stale since …".
   */
  | { readonly state: 'stale'; readonly since: number; readonly message: string }
  /** Not confirmed even once yet, and failing. */
  | { readonly state: 'disconnected'; readonly message: string }
  /** The lease expired or was revoked: reported, never silently re-granted. */
  | { readonly state: 'lost' }
  | { readonly state: 'stopped' };

/** Delay before each retry once every member has been tried (the first pass goes straight to the next). */
const KEEPALIVE_BACKOFF_MS = [250, 500, 1000, 2000];

/**
 * Keeps a lease alive until stopped: a keep-alive every TTL/4 on one stream, on one member at a time. A
 * missing answer is a failure: after TTL/6 (at least 0.5 s, at most the call deadline) without one, or when the
 * stream fails (member killed, frozen, cut off from its leader), the session moves to another member — the
 * silent one last — and sends again, so a 4 s lease outlives a 10 s freeze of any member. A silence is noticed
 * at most TTL/4 + TTL/6 (≈ 0.42 TTL) after the last renewal, leaving 0.58 TTL to renew through another member
 * (TTL/3 + 1 s left 0.42 TTL of a 4 s lease: it was lost in a fresh-clone CI run on a starved machine). If a member
 * answers TTL 0 and TimeToLive confirms it, the lease is gone: the session says `lost` and stops; it never grants
 * a new lease behind the user's back.
 */
export class KeepAliveSession {
  private stream: KeepAliveStream | undefined;
  private endpoint: string | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private answerCheck: NodeJS.Immediate | undefined;
  private lastAnswerAt: number | undefined;
  private attempt = 0;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly answerMs: number;
  private readonly router: StreamRouter;
  private stateValue: KeepAliveState = { state: 'disconnected', message: 'starting' };
  private readonly emitter = new Emitter<KeepAliveState>();
  private readonly tracked: { dispose(): void };

  readonly onDidChange: Event<KeepAliveState> = this.emitter.event;

  constructor(
    private readonly conn: EtcdConnection,
    readonly leaseId: string,
    grantedTtl: number,
  ) {
    this.intervalMs = Math.max(500, (grantedTtl * 1000) / 4);
    this.answerMs = Math.min(conn.timeoutMs, Math.max(500, (grantedTtl * 1000) / 6));
    this.router = StreamRouter.for(conn);
    this.tracked = conn.trackStream({ stop: () => this.stop() });
  }

  get state(): KeepAliveState {
    return this.stateValue;
  }

  start(): void {
    this.conn.assertWritable(`keep lease ${leaseHex(this.leaseId)} alive`);
    void this.send();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closeStream();
    clearTimeout(this.sendTimer);
    this.tracked.dispose();
    this.set({ state: 'stopped' });
    this.emitter.dispose();
  }

  private set(state: KeepAliveState): void {
    this.stateValue = state;
    this.emitter.fire(state);
  }

  private schedule(ms: number): void {
    clearTimeout(this.sendTimer);
    if (!this.stopped) this.sendTimer = setTimeout(() => void this.send(), ms);
  }

  private async send(): Promise<void> {
    if (this.stopped || this.answerTimer) return;
    let endpoint = this.endpoint;
    try {
      if (!this.stream || !endpoint) {
        endpoint = this.router.order()[0];
        this.endpoint = endpoint;
        const stream = await this.router.open<{ ID: string }, { ID: string; TTL: string }>(endpoint, 'keepAlive');
        if (this.stopped || this.endpoint !== endpoint) {
          endStream(stream);
          return;
        }
        this.stream = stream;
        const on = endpoint;
        stream.on('data', (res) => this.onAnswer(on, Number(res.TTL)));
        stream.on('error', (err) =>
          this.onFailure(on, streamFailureMessage(this.conn, this.operation, on, err), 'error'),
        );
        stream.on('end', () => this.onFailure(on, `${on} ended the keep-alive stream`, 'error'));
      }
      this.stream.write({ ID: this.leaseId });
      const sentTo = endpoint;
      const sentAt = Date.now();
      // The check runs after pending I/O, so an answer that arrived while the process was busy still counts.
      this.answerTimer = setTimeout(() => {
        this.answerCheck = setImmediate(() =>
          this.onFailure(sentTo, silenceMessage(sentTo, Date.now() - sentAt), 'silent'),
        );
      }, this.answerMs);
    } catch (err) {
      if (endpoint) this.onFailure(endpoint, streamFailureMessage(this.conn, this.operation, endpoint, err), 'error');
    }
  }

  private get operation(): string {
    return `keep lease ${leaseHex(this.leaseId)} alive`;
  }

  private clearAnswerTimer(): void {
    clearTimeout(this.answerTimer);
    if (this.answerCheck) clearImmediate(this.answerCheck);
    this.answerTimer = undefined;
    this.answerCheck = undefined;
  }

  private onAnswer(endpoint: string, ttl: number): void {
    if (this.stopped || endpoint !== this.endpoint) return;
    this.clearAnswerTimer();
    this.router.answered(endpoint);
    this.attempt = 0;
    if (ttl <= 0) {
      void this.confirmLost(endpoint);
      return;
    }
    this.lastAnswerAt = Date.now();
    this.set({ state: 'alive', ttl, at: this.lastAnswerAt, endpoint });
    this.schedule(this.intervalMs);
  }

  /**
   * One member answered TTL 0. Asked again (TimeToLive, answered by the leader) before the session says lost: a
   * member resumed after a freeze can still believe it leads, with every lease expired on its own clock. Lost
   * only when the cluster confirms it; otherwise that member's answer counts as a failure and the session goes on
   * through another one.
   */
  private async confirmLost(endpoint: string): Promise<void> {
    const ttl = await inspectLease(this.conn, this.leaseId).then(
      (info) => info.ttl,
      () => undefined,
    );
    if (this.stopped || endpoint !== this.endpoint) return;
    if (ttl !== undefined && ttl <= 0) {
      this.closeStream();
      clearTimeout(this.sendTimer);
      this.set({ state: 'lost' });
      return;
    }
    this.onFailure(
      endpoint,
      ttl === undefined
        ? `${endpoint} answered that lease ${leaseHex(this.leaseId)} is gone, and the cluster could not confirm it; trying another member`
        : `${endpoint} answered that lease ${leaseHex(this.leaseId)} is gone, but the cluster still grants it (${ttl} s left); trying another member`,
      'error',
    );
  }

  private onFailure(endpoint: string, message: string, trouble: 'error' | 'silent'): void {
    if (this.stopped || this.stateValue.state === 'lost' || endpoint !== this.endpoint) return;
    this.closeStream();
    this.router.failed(endpoint, trouble);
    this.set(
      this.lastAnswerAt === undefined
        ? { state: 'disconnected', message }
        : { state: 'stale', since: this.lastAnswerAt, message },
    );
    const passes = this.router.endpointCount;
    const delay =
      this.attempt < passes
        ? 0
        : KEEPALIVE_BACKOFF_MS[Math.min(this.attempt - passes, KEEPALIVE_BACKOFF_MS.length - 1)];
    this.attempt++;
    this.schedule(delay);
  }

  private closeStream(): void {
    this.clearAnswerTimer();
    endStream(this.stream);
    this.stream = undefined;
    this.endpoint = undefined;
  }
}

/** Keys written by etcd's lock and election recipes under a prefix: `<name>/<lease hex>` per contender. */
export interface LockGroup {
  /** The lock or election name (the key prefix before the lease part). */
  readonly name: Buffer;
  /** The contender with the lowest create_revision holds the lock / is the leader. */
  readonly holder: { key: Buffer; createRevision: string; lease: string };
  readonly waiters: Array<{ key: Buffer; createRevision: string; lease: string }>;
}

export async function lockGroups(conn: EtcdConnection, prefix: Buffer, separator = '/'): Promise<LockGroup[]> {
  const abs = conn.absoluteKey(prefix);
  const res = await conn.call(`read locks under ${displayKey(prefix)}`, (c) =>
    c.kv.range({ key: abs.length ? abs : Buffer.from([0]), range_end: prefixEnd(abs), keys_only: true, limit: 10_000 }),
  );
  const sep = Buffer.from(separator);
  const groups = new Map<string, Array<{ key: Buffer; createRevision: string; lease: string }>>();
  for (const kv of res.kvs) {
    const key = conn.relativeKey(kv.key);
    const cut = key.lastIndexOf(sep);
    if (cut < 0) continue;
    const name = key.subarray(0, cut + sep.length).toString('base64');
    const list = groups.get(name) ?? [];
    list.push({ key, createRevision: kv.create_revision, lease: kv.lease });
    groups.set(name, list);
  }
  return [...groups.entries()].map(([name, list]) => {
    list.sort((a, b) => (BigInt(a.createRevision) < BigInt(b.createRevision) ? -1 : 1));
    return { name: Buffer.from(name, 'base64'), holder: list[0], waiters: list.slice(1) };
  });
}
