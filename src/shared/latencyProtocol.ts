/**
 * Messages between the latency panel host and its webview. No vscode, no DOM. Latencies in milliseconds; NaN
 * (no samples) travels as null.
 */

export interface StatsDto {
  readonly count: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  readonly mean: number | null;
}

export interface HistogramDto {
  readonly bounds: number[];
  readonly counts: number[];
}

/** One probe series (endpoint × op) at one tick: rolling-window stats, histogram, failures during the tick. */
export interface ProbeSeriesDto {
  readonly endpoint: string;
  readonly op: string;
  readonly stats: StatsDto;
  readonly histogram: HistogramDto;
  /** Failed probes since the previous tick. */
  readonly tickErrors: number;
  readonly tickTimeouts: number;
}

export interface LatencyTickDto {
  readonly at: number;
  readonly probes: ProbeSeriesDto[];
  /** The extension's own operations on this connection, by operation type. */
  readonly own: Array<{ readonly op: string; readonly stats: StatsDto }>;
}

export interface MetricsPointDto {
  readonly at: number;
  readonly endpoint: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly values: Record<string, number>;
}

export interface LoadStateDto {
  readonly state: 'running' | 'done' | 'cancelled' | 'failed';
  readonly level: string;
  readonly done?: number;
  readonly total?: number;
  readonly errors?: number;
  /** Summary line when finished. */
  readonly message?: string;
}

export interface EndpointDto {
  readonly url: string;
  readonly name: string;
}

export type HostToLatency =
  | {
      readonly type: 'init';
      /** Kept by the webview (setState) so the panel can be restored after a reload. */
      readonly profileId: string;
      readonly connection: string;
      readonly endpoints: EndpointDto[];
      readonly ops: string[];
      readonly intervalMs: number;
      readonly windowMs: number;
      readonly readOnly: boolean;
      readonly levels: Array<{ readonly id: string; readonly label: string }>;
      readonly ticks: LatencyTickDto[];
      readonly metrics: MetricsPointDto[];
    }
  | { readonly type: 'tick'; readonly tick: LatencyTickDto }
  | { readonly type: 'metrics'; readonly points: MetricsPointDto[] }
  | { readonly type: 'load'; readonly load: LoadStateDto }
  | { readonly type: 'error'; readonly message: string };

export type LatencyToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'setInterval'; readonly ms: number }
  | { readonly type: 'loadTest'; readonly level: string }
  | { readonly type: 'cancelLoad' }
  | { readonly type: 'export'; readonly format: 'csv' | 'json' }
  | { readonly type: 'savePng'; readonly dataUrl: string; readonly name: string };

/** Validates a message from the webview (it is untrusted input like any other). */
export function parseLatencyMessage(raw: unknown): LatencyToHost | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'cancelLoad':
      return { type: m.type };
    case 'setInterval':
      return typeof m.ms === 'number' && m.ms >= 100 && m.ms <= 60_000 ? { type: 'setInterval', ms: m.ms } : undefined;
    case 'loadTest':
      return typeof m.level === 'string' ? { type: 'loadTest', level: m.level } : undefined;
    case 'export':
      return m.format === 'csv' || m.format === 'json' ? { type: 'export', format: m.format } : undefined;
    case 'savePng':
      return typeof m.dataUrl === 'string' &&
        m.dataUrl.startsWith('data:image/png;base64,') &&
        typeof m.name === 'string'
        ? { type: 'savePng', dataUrl: m.dataUrl, name: m.name }
        : undefined;
    default:
      return undefined;
  }
}

/** JSON has no NaN: "no samples yet" becomes null. */
export function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
