/**
 * Messages between the watch panel host (extension) and its webview. One discriminated union per direction;
 * no vscode, no DOM. Revisions and lease ids stay strings (64-bit).
 */

/** A watch event as the webview shows it. Keys and values are display text (escaped), never markup. */
export interface WatchEventDto {
  /** Sequence number within the panel (monotonic), for stable rows. */
  readonly seq: number;
  readonly watchId: string;
  /** Receive time, ms since epoch. */
  readonly time: number;
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** Exact key bytes, base64 (for previous-value lookups and copy). */
  readonly keyB64: string;
  /** First characters of the value (display text); empty for deletes. */
  readonly preview: string;
  readonly size: number;
  readonly binary: boolean;
  readonly modRevision: string;
  readonly createRevision: string;
  readonly version: string;
  readonly lease: string;
}

export interface WatchInfo {
  readonly id: string;
  /** What is watched, as display text, e.g. "/registry/ (prefix)". */
  readonly label: string;
}

export type WatchStateDto = 'connecting' | 'live' | 'stale' | 'reconnecting' | 'compacted' | 'stopped';

export interface WatchStatusDto {
  readonly watchId: string;
  readonly state: WatchStateDto;
  readonly revision?: string;
  readonly compactRevision?: string;
  readonly message?: string;
  readonly reconnects: number;
  /** While not confirmed current: when it last was (local ms). */
  readonly staleSince?: number;
  /** The member the watch reads from. */
  readonly endpoint?: string;
}

export type HostToWatch =
  | {
      readonly type: 'init';
      readonly title: string;
      readonly watches: WatchInfo[];
      readonly capacity: number;
      readonly recording: boolean;
    }
  | { readonly type: 'events'; readonly events: WatchEventDto[]; readonly dropped: number }
  | { readonly type: 'status'; readonly status: WatchStatusDto }
  | { readonly type: 'watches'; readonly watches: WatchInfo[] }
  | { readonly type: 'prevValue'; readonly seq: number; readonly text: string }
  | { readonly type: 'cleared' }
  /** Opaque restore state the webview keeps with `setState` (the panel serializer gets it back). */
  | { readonly type: 'persist'; readonly state: unknown };

export type WatchToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'addWatch' }
  | { readonly type: 'removeWatch'; readonly watchId: string }
  | { readonly type: 'resync'; readonly watchId: string }
  | { readonly type: 'pause'; readonly paused: boolean }
  | { readonly type: 'clear' }
  | { readonly type: 'export' }
  | { readonly type: 'record'; readonly on: boolean }
  | { readonly type: 'copy'; readonly seq: number }
  | { readonly type: 'prevValue'; readonly seq: number };

/** Checks a message from the webview (untrusted input) before the host acts on it. */
export function parseWatchMessage(raw: unknown): WatchToHost | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'addWatch':
    case 'clear':
    case 'export':
      return { type: m.type };
    case 'removeWatch':
    case 'resync':
      return typeof m.watchId === 'string' ? { type: m.type, watchId: m.watchId } : undefined;
    case 'pause':
      return typeof m.paused === 'boolean' ? { type: 'pause', paused: m.paused } : undefined;
    case 'record':
      return typeof m.on === 'boolean' ? { type: 'record', on: m.on } : undefined;
    case 'copy':
    case 'prevValue':
      return typeof m.seq === 'number' && Number.isInteger(m.seq) ? { type: m.type, seq: m.seq } : undefined;
    default:
      return undefined;
  }
}
