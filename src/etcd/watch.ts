import type { IWatchResponse } from 'etcd3';
import { EtcdConnection } from './connection';
import { translateError } from './errors';
import { Emitter, Event } from './events';
import { displayKey, prefixEnd } from './keyCodec';
import { endStream } from './streams';

/** One change, as the server reported it. Revisions and lease ids stay decimal strings (64-bit). */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** Relative to the connection's namespace. */
  readonly key: Buffer;
  readonly value: Buffer;
  readonly prevValue?: Buffer;
  readonly modRevision: string;
  readonly createRevision: string;
  readonly version: string;
  readonly lease: string;
}

export type WatchState = 'connecting' | 'live' | 'reconnecting' | 'compacted' | 'stopped';

export interface WatchStatus {
  readonly state: WatchState;
  /** The watch is current as of this revision (last event delivered, or a later progress notification). */
  readonly revision?: string;
  /** Set in `compacted`: the oldest revision still available; events before it are gone. */
  readonly compactRevision?: string;
  /** Why the stream is reconnecting. */
  readonly message?: string;
  readonly reconnects: number;
}

export interface WatchSpec {
  /** Key, or prefix when `prefix` is set (relative to the namespace). */
  readonly key: Buffer;
  readonly prefix: boolean;
  /** Replay history from this revision; absent: from now. */
  readonly startRevision?: string;
  /** Ask for each event's previous value. */
  readonly prevKv?: boolean;
  /** How often to ask the server to confirm the watch is current (ms; 0: never). */
  readonly progressIntervalMs?: number;
}

interface RawStream {
  write(req: unknown): void;
  end(): void;
  cancel?: () => void;
  on(event: 'data', cb: (res: IWatchResponse) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  on(event: 'end', cb: () => void): void;
  removeAllListeners(): void;
}

const BACKOFF_MS = [50, 100, 200, 500, 1000, 2000];

/**
 * A watch that loses nothing: it runs on the raw watch stream (so compaction is reported with its revision,
 * which etcd3's high-level watcher hides), remembers the last revision it delivered, and after any stream
 * failure (member killed, leader change, network) resumes at last revision + 1, so no event is lost or
 * repeated. If that revision was compacted meanwhile it stops in state `compacted` and says so; `resync()`
 * then continues from the current revision. Progress requests confirm the watch is current.
 */
export class ResilientWatch {
  private stream: RawStream | undefined;
  private lastRevision: bigint | undefined;
  private progressRevision: bigint | undefined;
  private statusValue: WatchStatus = { state: 'connecting', reconnects: 0 };
  private stopped = false;
  private attempt = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly eventsEmitter = new Emitter<WatchEvent[]>();
  private readonly statusEmitter = new Emitter<WatchStatus>();
  private readonly tracked: { dispose(): void };

  /** Events in revision order, a server response at a time. */
  readonly onEvents: Event<WatchEvent[]> = this.eventsEmitter.event;
  readonly onStatus: Event<WatchStatus> = this.statusEmitter.event;

  constructor(
    private readonly conn: EtcdConnection,
    readonly spec: WatchSpec,
  ) {
    if (spec.startRevision) this.lastRevision = BigInt(spec.startRevision) - 1n;
    this.tracked = conn.trackStream({ stop: () => this.stop() });
  }

  get status(): WatchStatus {
    return this.statusValue;
  }

  /** Revision of the last event delivered: the watch resumes after it. */
  get revision(): string | undefined {
    return this.lastRevision?.toString();
  }

  start(): void {
    void this.open();
  }

  /** After a compaction: continue from the current revision (the caller re-lists what it shows). */
  resync(fromRevision?: string): void {
    this.lastRevision = fromRevision ? BigInt(fromRevision) - 1n : undefined;
    this.attempt = 0;
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closeStream();
    this.tracked.dispose();
    this.setStatus({ state: 'stopped' });
    this.eventsEmitter.dispose();
    this.statusEmitter.dispose();
  }

  private setStatus(patch: Partial<WatchStatus> & { state: WatchState }): void {
    const shown = this.progressRevision !== undefined && (this.lastRevision === undefined || this.progressRevision > this.lastRevision) ? this.progressRevision : this.lastRevision;
    this.statusValue = {
      reconnects: this.statusValue.reconnects,
      revision: shown?.toString(),
      ...patch,
    };
    this.statusEmitter.fire(this.statusValue);
  }

  private async open(): Promise<void> {
    this.closeStream();
    if (this.stopped) return;
    let stream: RawStream;
    try {
      stream = (await this.conn.client.watchClient.watch()) as unknown as RawStream;
    } catch (err) {
      this.retry(err);
      return;
    }
    if (this.stopped) {
      stream.end();
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(res));
    stream.on('error', (err) => this.retry(err));
    stream.on('end', () => this.retry(new Error('watch stream ended')));
    const abs = this.conn.absoluteKey(this.spec.key);
    const key = abs.length ? abs : Buffer.from([0]);
    stream.write({
      create_request: {
        key,
        ...(this.spec.prefix ? { range_end: prefixEnd(abs) } : {}),
        ...(this.lastRevision !== undefined ? { start_revision: (this.lastRevision + 1n).toString() } : {}),
        prev_kv: this.spec.prevKv ?? false,
        progress_notify: true,
      },
    });
  }

  private onResponse(res: IWatchResponse): void {
    if (this.stopped) return;
    if (res.compact_revision && res.compact_revision !== '0') {
      // The revision we must resume from is gone: say so, never skip silently.
      this.closeStream();
      this.setStatus({ state: 'compacted', compactRevision: res.compact_revision });
      return;
    }
    if (res.canceled) {
      this.retry(new Error(`watch canceled by the server${res.cancel_reason ? `: ${res.cancel_reason}` : ''}`));
      return;
    }
    if (res.created) {
      if (this.lastRevision === undefined) this.lastRevision = BigInt(res.header.revision);
      this.attempt = 0;
      this.setStatus({ state: 'live' });
      this.scheduleProgress();
      return;
    }
    if (res.events.length === 0) {
      // Progress notification: shown as "current as of", but never used as the resume point — etcd before
      // 3.4.25/3.5.8 could send one ahead of events still queued (etcd-io/etcd#15220), which would skip them.
      const confirmed = BigInt(res.header.revision);
      if (this.progressRevision === undefined || confirmed > this.progressRevision) this.progressRevision = confirmed;
      this.setStatus({ state: 'live' });
      return;
    }
    const events: WatchEvent[] = [];
    for (const ev of res.events) {
      const rev = BigInt(ev.kv.mod_revision);
      // Never deliver twice (a resumed stream starts after the last revision, this is the guard).
      if (this.lastRevision !== undefined && rev <= this.lastRevision && !res.fragment) continue;
      events.push({
        type: ev.type === 'Delete' ? 'delete' : 'put',
        key: this.conn.relativeKey(ev.kv.key),
        value: ev.kv.value,
        prevValue: ev.prev_kv?.value,
        modRevision: ev.kv.mod_revision,
        createRevision: ev.kv.create_revision,
        version: ev.kv.version,
        lease: ev.kv.lease,
      });
    }
    if (events.length === 0) return;
    // A fragmented response continues the same revision in the next message: advance only when complete.
    if (!res.fragment) this.lastRevision = BigInt(events[events.length - 1].modRevision);
    this.eventsEmitter.fire(events);
  }

  private scheduleProgress(): void {
    clearInterval(this.progressTimer);
    const every = this.spec.progressIntervalMs ?? 2000;
    if (every <= 0) return;
    this.progressTimer = setInterval(() => {
      try {
        this.stream?.write({ progress_request: {} });
      } catch {
        // the error handler reconnects
      }
    }, every);
  }

  private retry(err: unknown): void {
    if (this.stopped || this.statusValue.state === 'compacted') return;
    this.closeStream();
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    const error = translateError(err, {
      operation: `watch ${displayKey(this.spec.key)}`,
      endpoints: this.conn.profile.endpoints,
      timeoutMs: this.conn.timeoutMs,
    });
    this.statusValue = { ...this.statusValue, reconnects: this.statusValue.reconnects + 1 };
    this.setStatus({ state: 'reconnecting', message: error.message });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  private closeStream(): void {
    clearInterval(this.progressTimer);
    clearTimeout(this.retryTimer);
    endStream(this.stream);
    this.stream = undefined;
  }
}
