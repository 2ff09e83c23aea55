import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { displayKey } from '../etcd/keyCodec';
import { readValue } from '../etcd/values';
import { ResilientWatch, WatchEvent, WatchSpec } from '../etcd/watch';
import { PanelEnvironment, WebviewPanelHost } from '../host/webviewPanelHost';
import { HostToWatch, WatchEventDto, WatchInfo, WatchToHost, parseWatchMessage } from '../shared/watchProtocol';
import { RingBuffer } from '../shared/ringBuffer';
import { EventBatcher } from './eventBatcher';
import { askWatchSpec } from './watchSpecPrompt';
import { toDto, valuePreview } from './watchDto';

export const WATCH_VIEW_TYPE = 'etcd.watch';

/** What a panel needs to be restored after a reload: the watches and where each stopped. */
export interface WatchPanelState {
  readonly profileId: string;
  readonly watches: Array<{ keyB64: string; prefix: boolean; revision?: string }>;
}

interface Running {
  readonly id: string;
  readonly info: WatchInfo;
  readonly spec: WatchSpec;
  readonly watch: ResilientWatch;
}

/** A recorded event with full bytes, for export. */
interface Recorded {
  readonly time: number;
  readonly watchId: string;
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly modRevision: string;
  readonly createRevision: string;
  readonly version: string;
  readonly lease: string;
}

/**
 * Hosts one watch panel: runs its ResilientWatches, converts events to DTOs, coalesces them (≤ 60 messages
 * per second) and keeps a bounded ring so a hidden panel (no retainContextWhenHidden) is re-filled when it
 * comes back (the host kit queues the rest until the webview says `ready`).
 */
export class WatchPanel extends WebviewPanelHost<HostToWatch, WatchToHost> {
  private static counter = 0;
  private readonly watches = new Map<string, Running>();
  private readonly ring: RingBuffer<WatchEventDto>;
  private readonly batcher: EventBatcher<WatchEventDto>;
  private recording: Recorded[] | undefined;
  private userPaused = false;
  private seq = 0;
  private persistedAt = 0;
  private readonly statuses = new Map<string, HostToWatch & { type: 'status' }>();

  constructor(
    panel: vscode.WebviewPanel,
    env: PanelEnvironment,
    private readonly manager: ConnectionManager,
    readonly profileId: string,
    private readonly capacity: number,
  ) {
    // Everything but one-shot answers is in the ring, the statuses or the watch list, sent again on `ready`.
    super(panel, env, {
      bundle: 'watch',
      parse: parseWatchMessage,
      resentOnReady: ['init', 'events', 'status', 'watches', 'persist'],
    });
    this.ring = new RingBuffer(capacity);
    this.batcher = new EventBatcher((events, dropped) => this.post({ type: 'events', events, dropped }), capacity);
  }

  /** Starts watching `spec` in this panel. */
  async addWatch(spec: WatchSpec): Promise<void> {
    const connection = await this.manager.get(this.profileId);
    const id = `w${++WatchPanel.counter}`;
    const label = `${displayKey(spec.key) || '(all keys)'}${spec.prefix ? ' (prefix)' : ''}${spec.startRevision ? ` from revision ${spec.startRevision}` : ''}`;
    const watch = new ResilientWatch(connection, spec);
    const running: Running = { id, info: { id, label }, spec, watch };
    this.watches.set(id, running);
    watch.onEvents((events) => this.onEvents(running, events));
    watch.onStatus((s) => {
      const msg = {
        type: 'status',
        status: {
          watchId: id,
          state: s.state,
          revision: s.revision,
          compactRevision: s.compactRevision,
          message: s.message,
          reconnects: s.reconnects,
          staleSince: s.staleSince,
          endpoint: s.endpoint,
        },
      } as const;
      this.statuses.set(id, msg);
      this.post(msg);
      this.persist();
    });
    watch.start();
    this.post({ type: 'watches', watches: this.infos() });
    this.persist();
  }

  /** Sends the restorable state to the webview (which keeps it for VS Code) and keeps a copy. */
  private persist(): void {
    const state = this.state();
    this.post({ type: 'persist', state });
    this.remember(state);
  }

  /** Restorable state (the watches and their last revisions). */
  state(): WatchPanelState {
    return {
      profileId: this.profileId,
      watches: [...this.watches.values()].map((w) => ({
        keyB64: w.spec.key.toString('base64'),
        prefix: w.spec.prefix,
        revision: w.watch.revision,
      })),
    };
  }

  /** Events received so far (tests and the status line). */
  get received(): number {
    return this.seq;
  }

  override dispose(): void {
    for (const w of this.watches.values()) w.watch.stop();
    this.watches.clear();
    this.batcher.dispose();
    super.dispose();
  }

  private infos(): WatchInfo[] {
    return [...this.watches.values()].map((w) => w.info);
  }

  private onEvents(running: Running, events: WatchEvent[]): void {
    const now = Date.now();
    const dtos = events.map((e) => toDto(e, running.id, this.seq++, now));
    this.ring.pushAll(dtos);
    if (this.recording) {
      for (const e of events) {
        this.recording.push({
          time: now,
          watchId: running.id,
          type: e.type,
          key: e.key.toString('base64'),
          value: e.value.toString('base64'),
          modRevision: e.modRevision,
          createRevision: e.createRevision,
          version: e.version,
          lease: e.lease,
        });
      }
    }
    this.batcher.push(dtos);
    // Keep the restorable revision current (at most once a second), so a reload replays little.
    if (now - this.persistedAt >= 1000) {
      this.persistedAt = now;
      this.persist();
    }
  }

  /** A hidden webview is torn down: keep buffering in the ring and re-fill it on `ready`. */
  protected override onHidden(): void {
    this.batcher.setPaused(true);
  }

  protected onReady(): void {
    this.batcher.reset();
    this.post({
      type: 'init',
      title: this.panel.title,
      watches: this.infos(),
      capacity: this.capacity,
      recording: this.recording !== undefined,
    });
    this.post({ type: 'events', events: this.ring.toArray(), dropped: this.ring.dropped });
    for (const status of this.statuses.values()) this.post(status);
    // The restorable state kept by the webview is lost with it: send it again.
    this.persist();
    this.batcher.setPaused(this.userPaused);
  }

  protected async onMessage(message: Exclude<WatchToHost, { type: 'ready' }>): Promise<void> {
    switch (message.type) {
      case 'addWatch': {
        const spec = await askWatchSpec(undefined);
        if (spec) await this.addWatch(spec);
        return;
      }
      case 'removeWatch': {
        const w = this.watches.get(message.watchId);
        w?.watch.stop();
        this.watches.delete(message.watchId);
        this.post({ type: 'watches', watches: this.infos() });
        return;
      }
      case 'resync':
        this.watches.get(message.watchId)?.watch.resync();
        return;
      case 'pause':
        this.userPaused = message.paused;
        this.batcher.setPaused(message.paused);
        return;
      case 'clear':
        this.ring.clear();
        this.batcher.reset();
        this.post({ type: 'cleared' });
        return;
      case 'record':
        this.recording = message.on ? (this.recording ?? []) : undefined;
        return;
      case 'export':
        await this.export();
        return;
      case 'copy': {
        const e = this.find(message.seq);
        if (e) await vscode.env.clipboard.writeText(JSON.stringify(e, null, 2));
        return;
      }
      case 'prevValue': {
        const e = this.find(message.seq);
        if (!e) return;
        const text = await this.previousValue(e).catch((err: Error) => `(${err.message})`);
        this.post({ type: 'prevValue', seq: message.seq, text });
        return;
      }
      default: {
        const never: never = message;
        return never;
      }
    }
  }

  private find(seq: number): WatchEventDto | undefined {
    for (let i = this.ring.size - 1; i >= 0; i--) {
      const e = this.ring.at(i);
      if (e?.seq === seq) return e;
    }
    return undefined;
  }

  /** The value before an event: the key read at the revision just before it (on demand, not on every event). */
  private async previousValue(e: WatchEventDto): Promise<string> {
    const connection = await this.manager.get(this.profileId);
    const before = String(BigInt(e.modRevision) - 1n);
    const record = await readValue(connection, Buffer.from(e.keyB64, 'base64'), before);
    if (!record) return '(the key did not exist before this event)';
    const { preview, binary } = valuePreview(record.value);
    return binary ? `binary, ${record.value.length} bytes: ${preview}…` : preview;
  }

  private async export(): Promise<void> {
    const lines = this.recording
      ? this.recording.map((r) => JSON.stringify(r))
      : this.ring.toArray().map((e) => JSON.stringify(e));
    await this.saveAs(
      {
        title: this.recording
          ? 'Export recorded events (NDJSON, full values in base64)'
          : 'Export events in view (NDJSON)',
        filters: { NDJSON: ['ndjson', 'jsonl'] },
      },
      Buffer.from(lines.join('\n') + (lines.length ? '\n' : ''), 'utf8'),
      (target) => `Exported ${lines.length.toLocaleString()} events to ${target.fsPath}.`,
    );
  }
}
