import type { IWatchResponse } from 'etcd3';
import { EtcdConnection } from './connection';
import { Emitter, Event } from './events';
import { displayKey, prefixEnd } from './keyCodec';
import {
  DuplexStream,
  SilenceWatchdog,
  StreamRouter,
  endStream,
  silenceMessage,
  streamFailureMessage,
} from './streams';

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

/** `stale`: the member stopped answering; the watch is moving to another one (see {@link WatchStatus.staleSince}). */
export type WatchState = 'connecting' | 'live' | 'stale' | 'reconnecting' | 'compacted' | 'stopped';

export interface WatchStatus {
  readonly state: WatchState;
  /** The watch is current as of this revision (last event delivered, or a later progress notification). */
  readonly revision?: string;
  /** Set in `compacted`: the oldest revision still available; events before it are gone. */
  readonly compactRevision?: string;
  /** Why the stream is stale or reconnecting. */
  readonly message?: string;
  readonly reconnects: number;
  /**
   * Set while a watch that was live is not confirmed current (`stale`, `reconnecting`): the local time (ms) it
   * last heard from its member. Shown as "stale since …".
   */
  readonly staleSince?: number;
  /** The member the stream reads from (or is connecting to). */
  readonly endpoint?: string;
}

export interface WatchSpec {
  /** Key, or prefix when `prefix` is set (relative to the namespace). */
  readonly key: Buffer;
  readonly prefix: boolean;
  /** Replay history from this revision; absent: from now. */
  readonly startRevision?: string;
  /** Ask for each event's previous value. */
  readonly prevKv?: boolean;
  /**
   * How often to ask the server to confirm the watch is current (ms; 0: never). Two intervals without any
   * answer make the member count as silent: the watch moves to another member.
   */
  readonly progressIntervalMs?: number;
}

/** Default confirmation interval: a frozen member is left after 2 s of silence. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 1000;

type RawStream = DuplexStream<unknown, IWatchResponse>;

/** Delay before each reconnect once every member has been tried (the first pass goes straight to the next). */
const BACKOFF_MS = [50, 100, 200, 500, 1000, 2000];

/**
 * A watch that loses nothing: it runs on the raw watch stream (so compaction is reported with its revision,
 * which etcd3's high-level watcher hides), remembers the last revision it delivered, and after any stream
 * failure (member killed, frozen or cut off from the leader, leader change, network) resumes at last
 * revision + 1 on another member, so no event is lost or repeated. Silence is a failure: progress requests
 * confirm the watch is current, and a member that leaves them unanswered for two intervals is left (status
 * `stale` meanwhile). If the resume revision was compacted meanwhile it stops in state `compacted` and says
 * so; `resync()` then continues from the current revision.
 */
export class ResilientWatch {
  private stream: RawStream | undefined;
  private endpoint: string | undefined;
  private lastRevision: bigint | undefined;
  private progressRevision: bigint | undefined;
  private statusValue: WatchStatus = { state: 'connecting', reconnects: 0 };
  private stopped = false;
  private wasLive = false;
  private attempt = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: SilenceWatchdog | undefined;
  private readonly router: StreamRouter;
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
    this.router = StreamRouter.for(conn);
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
    clearTimeout(this.retryTimer);
    this.tracked.dispose();
    this.setStatus({ state: 'stopped' });
    this.eventsEmitter.dispose();
    this.statusEmitter.dispose();
  }

  private get progressInterval(): number {
    return this.spec.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
  }

  private setStatus(patch: Partial<WatchStatus> & { state: WatchState }): void {
    const shown =
      this.progressRevision !== undefined &&
      (this.lastRevision === undefined || this.progressRevision > this.lastRevision)
        ? this.progressRevision
        : this.lastRevision;
    this.statusValue = {
      reconnects: this.statusValue.reconnects,
      revision: shown?.toString(),
      endpoint: this.endpoint,
      ...patch,
    };
    this.statusEmitter.fire(this.statusValue);
  }

  private async open(): Promise<void> {
    this.closeStream();
    if (this.stopped) return;
    const endpoint = this.router.order()[0];
    this.endpoint = endpoint;
    let stream: RawStream;
    try {
      stream = await this.router.open<unknown, IWatchResponse>(endpoint, 'watch');
    } catch (err) {
      this.fail(endpoint, streamFailureMessage(this.conn, this.operation, endpoint, err), 'error');
      return;
    }
    if (this.stopped || this.endpoint !== endpoint) {
      endStream(stream);
      return;
    }
    this.stream = stream;
    // Until `created` arrives the member has the call deadline; after it, two progress intervals.
    this.watchdog = new SilenceWatchdog(this.conn.timeoutMs, (heard) =>
      this.fail(endpoint, silenceMessage(endpoint, Date.now() - heard), 'silent'),
    );
    this.watchdog.start();
    stream.on('data', (res) => this.onResponse(endpoint, res));
    stream.on('error', (err) =>
      this.fail(endpoint, streamFailureMessage(this.conn, this.operation, endpoint, err), 'error'),
    );
    stream.on('end', () => this.fail(endpoint, `${endpoint} ended the watch stream`, 'error'));
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

  private get operation(): string {
    return `watch ${displayKey(this.spec.key)}`;
  }

  private onResponse(endpoint: string, res: IWatchResponse): void {
    if (this.stopped || endpoint !== this.endpoint) return;
    this.watchdog?.heard();
    this.router.answered(endpoint);
    if (res.compact_revision && res.compact_revision !== '0') {
      // The revision we must resume from is gone: say so, never skip silently.
      this.closeStream();
      this.setStatus({ state: 'compacted', compactRevision: res.compact_revision });
      return;
    }
    if (res.canceled) {
      this.fail(endpoint, `watch canceled by ${endpoint}${res.cancel_reason ? `: ${res.cancel_reason}` : ''}`, 'error');
      return;
    }
    if (res.created) {
      if (this.lastRevision === undefined) this.lastRevision = BigInt(res.header.revision);
      this.attempt = 0;
      this.wasLive = true;
      this.setStatus({ state: 'live' });
      this.confirmEvery(endpoint);
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

  /** Progress requests every interval; no answer of any kind for two intervals leaves the member. */
  private confirmEvery(endpoint: string): void {
    clearInterval(this.progressTimer);
    this.watchdog?.stop();
    this.watchdog = undefined;
    const every = this.progressInterval;
    if (every <= 0) return;
    this.watchdog = new SilenceWatchdog(2 * every, (heard) =>
      this.fail(endpoint, silenceMessage(endpoint, Date.now() - heard), 'silent'),
    );
    this.watchdog.start();
    this.progressTimer = setInterval(() => {
      try {
        this.stream?.write({ progress_request: {} });
      } catch {
        // the error handler reconnects
      }
    }, every);
  }

  /** Leaves `endpoint` and resumes on the next member (after a backoff once every member was tried). */
  private fail(endpoint: string, message: string, trouble: 'error' | 'silent'): void {
    if (this.stopped || this.statusValue.state === 'compacted' || endpoint !== this.endpoint) return;
    const heard = this.watchdog?.lastHeardAt;
    this.closeStream();
    this.endpoint = undefined;
    this.router.failed(endpoint, trouble);
    const passes = this.router.endpointCount;
    const delay = this.attempt < passes ? 0 : BACKOFF_MS[Math.min(this.attempt - passes, BACKOFF_MS.length - 1)];
    this.attempt++;
    const staleSince = this.statusValue.staleSince ?? (this.wasLive ? (heard ?? Date.now()) : undefined);
    this.statusValue = { ...this.statusValue, reconnects: this.statusValue.reconnects + 1 };
    this.setStatus({ state: trouble === 'silent' ? 'stale' : 'reconnecting', message, staleSince, endpoint });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  private closeStream(): void {
    clearInterval(this.progressTimer);
    this.watchdog?.stop();
    this.watchdog = undefined;
    endStream(this.stream);
    this.stream = undefined;
  }
}
