import { EtcdConnection } from './connection';
import { EtcdExplorerError, translateError } from './errors';
import { Emitter, Event } from './events';
import { displayKey, prefixEnd } from './keyCodec';
import { endStream } from './streams';

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
  const res = await conn.call(`inspect lease ${leaseHex(id)}`, (c) => c.leaseClient.leaseTimeToLive({ ID: id, keys: true }), signal);
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
  const res = await conn.write(`grant a ${ttlSeconds} s lease`, (c) => c.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id ?? '0' }));
  return res.ID;
}

/** Revokes a lease; etcd deletes every key attached to it. */
export async function revokeLease(conn: EtcdConnection, id: string): Promise<void> {
  await conn.write(`revoke lease ${leaseHex(id)}`, (c) => c.leaseClient.leaseRevoke({ ID: id }));
}

interface KeepAliveStream {
  write(req: { ID: string }): void;
  end(): void;
  cancel?: () => void;
  on(event: 'data', cb: (res: { ID: string; TTL: string }) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'end', cb: () => void): void;
  removeAllListeners(): void;
}

/** One keep-alive: the new TTL, or an error when the lease no longer exists. */
export async function keepAliveOnce(conn: EtcdConnection, id: string): Promise<number> {
  const ttl = await conn.write(`keep lease ${leaseHex(id)} alive`, async (c) => {
    const stream = (await c.leaseClient.leaseKeepAlive()) as unknown as KeepAliveStream;
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('deadline exceeded waiting for the keep-alive answer')), conn.timeoutMs);
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
  if (ttl <= 0) throw new EtcdExplorerError('invalid', `Lease ${leaseHex(id)} no longer exists (it expired or was revoked); its keys are gone.`);
  return ttl;
}

export type KeepAliveState =
  | { readonly state: 'alive'; readonly ttl: number; readonly at: number }
  | { readonly state: 'disconnected'; readonly message: string }
  /** The lease expired or was revoked: reported, never silently re-granted. */
  | { readonly state: 'lost' }
  | { readonly state: 'stopped' };

/**
 * Keeps a lease alive until stopped: a keep-alive every TTL/3 on one stream, reconnecting after failures
 * (member killed, leader change). If the server answers TTL 0 the lease is gone: the session says `lost` and
 * stops; it never grants a new lease behind the user's back.
 */
export class KeepAliveSession {
  private stream: KeepAliveStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private intervalMs: number;
  private stateValue: KeepAliveState = { state: 'disconnected', message: 'starting' };
  private readonly emitter = new Emitter<KeepAliveState>();
  private readonly tracked: { dispose(): void };

  readonly onDidChange: Event<KeepAliveState> = this.emitter.event;

  constructor(
    private readonly conn: EtcdConnection,
    readonly leaseId: string,
    grantedTtl: number,
  ) {
    this.intervalMs = Math.max(500, (grantedTtl * 1000) / 3);
    this.tracked = conn.trackStream({ stop: () => this.stop() });
  }

  get state(): KeepAliveState {
    return this.stateValue;
  }

  start(): void {
    this.conn.assertWritable(`keep lease ${leaseHex(this.leaseId)} alive`);
    void this.tick();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closeStream();
    clearTimeout(this.timer);
    this.tracked.dispose();
    this.set({ state: 'stopped' });
    this.emitter.dispose();
  }

  private set(state: KeepAliveState): void {
    this.stateValue = state;
    this.emitter.fire(state);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.pendingSince !== undefined && Date.now() - this.pendingSince >= this.conn.timeoutMs) {
      // A blackholed or dead member never answers: treat the missing answer as a failure and reconnect.
      this.onFailure(new Error('deadline exceeded waiting for a keep-alive answer'));
      return;
    }
    try {
      if (!this.stream) {
        const stream = (await this.conn.client.leaseClient.leaseKeepAlive()) as unknown as KeepAliveStream;
        if (this.stopped) {
          stream.end();
          return;
        }
        this.stream = stream;
        stream.on('data', (res) => this.onAnswer(Number(res.TTL)));
        stream.on('error', (err) => this.onFailure(err));
        stream.on('end', () => this.onFailure(new Error('keep-alive stream ended')));
      }
      this.stream.write({ ID: this.leaseId });
      // No answer within the deadline counts as a failure (a blackholed member never answers).
      this.schedule(Math.min(this.intervalMs, this.conn.timeoutMs));
      this.pendingSince ??= Date.now();
    } catch (err) {
      this.onFailure(err);
    }
  }

  private pendingSince: number | undefined;

  private onAnswer(ttl: number): void {
    if (this.stopped) return;
    this.pendingSince = undefined;
    if (ttl <= 0) {
      this.closeStream();
      clearTimeout(this.timer);
      this.set({ state: 'lost' });
      return;
    }
    this.set({ state: 'alive', ttl, at: Date.now() });
    this.schedule(this.intervalMs);
  }

  private onFailure(err: unknown): void {
    if (this.stopped || this.stateValue.state === 'lost') return;
    this.closeStream();
    this.pendingSince = undefined;
    const error = translateError(err, { operation: `keep lease ${leaseHex(this.leaseId)} alive`, endpoints: this.conn.profile.endpoints, timeoutMs: this.conn.timeoutMs });
    this.set({ state: 'disconnected', message: error.message });
    this.schedule(500);
  }

  private closeStream(): void {
    endStream(this.stream);
    this.stream = undefined;
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
