import { errorText } from './errors';
import {
  Histogram,
  MetricFamily,
  ScrapeTls,
  histogramQuantile,
  histograms,
  mergeHistograms,
  parsePrometheusText,
  scrapeMetrics,
} from './metrics';

export interface ServerMetricsPoint {
  readonly at: number;
  readonly endpoint: string;
  readonly ok: boolean;
  readonly error?: string;
  /**
   * Series name → value, e.g. 'wal_fsync_p99_ms', 'backend_commit_p99_ms', 'peer_rtt_p99_ms', 'proposals_committed_per_s',
   * 'proposals_applied_per_s', 'proposals_pending', 'proposals_failed_per_s', 'leader_changes', 'db_size_bytes',
   * 'db_size_in_use_bytes', 'grpc_<Method>_per_s', 'grpc_<Method>_p99_ms' (when histograms exist), p50/p90 too.
   * A series without data in the interval (no fsync happened, first scrape for rates) is absent, not 0.
   */
  readonly values: Record<string, number>;
}

type Buckets = ReadonlyArray<{ le: number; count: number }>;

/** What one scrape says, reduced to the series we plot: cumulative counters, gauges, cumulative histograms. */
export interface MetricsSnapshot {
  readonly at: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly gauges: Readonly<Record<string, number>>;
  /** Cumulative buckets, `le` in seconds. */
  readonly histograms: Readonly<Record<string, Buckets>>;
}

const HISTOGRAM_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_disk_wal_fsync_duration_seconds', 'wal_fsync'],
  ['etcd_disk_backend_commit_duration_seconds', 'backend_commit'],
  ['etcd_network_peer_round_trip_time_seconds', 'peer_rtt'],
];
// etcd 3.4 types committed/applied as gauges, but they only grow: plotted as rates.
const COUNTER_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_server_proposals_committed_total', 'proposals_committed'],
  ['etcd_server_proposals_applied_total', 'proposals_applied'],
  ['etcd_server_proposals_failed_total', 'proposals_failed'],
  ['etcd_server_leader_changes_seen_total', 'leader_changes'],
];
const GAUGE_FAMILIES: ReadonlyArray<[string, string]> = [
  ['etcd_server_proposals_pending', 'proposals_pending'],
  ['etcd_mvcc_db_total_size_in_bytes', 'db_size_bytes'],
  ['etcd_mvcc_db_total_size_in_use_in_bytes', 'db_size_in_use_bytes'],
  ['etcd_server_has_leader', 'has_leader'],
  ['etcd_server_is_leader', 'is_leader'],
];
/** Counter totals that are worth showing as they are (a leader change count is read as a number, not a rate). */
const SHOWN_TOTALS = ['leader_changes'];
const QUANTILES: ReadonlyArray<[number, string]> = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.99, 'p99'],
];

function sumSamples(family: MetricFamily | undefined): number | undefined {
  if (!family || family.samples.length === 0) return undefined;
  return family.samples.reduce((n, s) => n + s.value, 0);
}

/** Reduces a parsed /metrics page to a {@link MetricsSnapshot}. gRPC series are per method, summed over codes. */
export function metricsSnapshot(families: Map<string, MetricFamily>, at: number): MetricsSnapshot {
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  const hists: Record<string, Buckets> = {};
  for (const [family, name] of COUNTER_FAMILIES) {
    const v = sumSamples(families.get(family));
    if (v !== undefined) counters[name] = v;
  }
  for (const [family, name] of GAUGE_FAMILIES) {
    const v = sumSamples(families.get(family));
    if (v !== undefined) gauges[name] = v;
  }
  for (const [family, name] of HISTOGRAM_FAMILIES) {
    const merged = mergeHistograms(histograms(families.get(family)));
    if (merged) hists[name] = merged.buckets;
  }
  for (const s of families.get('grpc_server_handled_total')?.samples ?? []) {
    const method = s.labels.grpc_method;
    if (!method) continue;
    counters[`grpc_${method}`] = (counters[`grpc_${method}`] ?? 0) + s.value;
    if (s.labels.grpc_code !== 'OK')
      counters[`grpc_${method}_errors`] = (counters[`grpc_${method}_errors`] ?? 0) + s.value;
  }
  // Only with --metrics=extensive.
  const byMethod = new Map<string, Histogram[]>();
  for (const h of histograms(families.get('grpc_server_handling_seconds'))) {
    const method = h.labels.grpc_method;
    if (method) byMethod.set(method, [...(byMethod.get(method) ?? []), h]);
  }
  for (const [method, list] of byMethod) {
    const merged = mergeHistograms(list);
    if (merged) hists[`grpc_${method}`] = merged.buckets;
  }
  return { at, counters, gauges, histograms: hists };
}

/** Counter increase since `previous`; a drop means the member restarted, so the whole current value is new. */
function counterDelta(current: number, previous: number | undefined): number {
  return previous === undefined || current < previous ? current : current - previous;
}

/** Bucket deltas since `previous`, or the cumulative buckets on a first scrape, a reset or changed bounds. */
function histogramDelta(current: Buckets, previous: Buckets | undefined): Buckets {
  if (!previous || previous.length !== current.length) return current;
  const reset = current.some((b, i) => b.le !== previous[i].le || b.count < previous[i].count);
  return reset ? current : current.map((b, i) => ({ le: b.le, count: b.count - previous[i].count }));
}

/**
 * The plotted values for one scrape: gauges as they are; counters as per-second rates over the time since
 * `previous` (none on the first scrape); histogram quantiles (ms) over the observations since `previous`, or
 * over everything since the member started on the first scrape. Counter resets count from zero.
 */
export function serverSeries(current: MetricsSnapshot, previous?: MetricsSnapshot): Record<string, number> {
  const values: Record<string, number> = { ...current.gauges };
  for (const name of SHOWN_TOTALS) if (current.counters[name] !== undefined) values[name] = current.counters[name];
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  if (previous && seconds > 0) {
    for (const [name, total] of Object.entries(current.counters)) {
      // Methods nobody called stay out of the chart (etcd pre-registers every method × code).
      if (name.startsWith('grpc_') && total === 0) continue;
      values[`${name}_per_s`] = counterDelta(total, previous.counters[name]) / seconds;
    }
  }
  for (const [name, buckets] of Object.entries(current.histograms)) {
    const delta = histogramDelta(buckets, previous?.histograms[name]);
    const count = delta.length ? delta[delta.length - 1].count : 0;
    if (previous && seconds > 0 && !name.startsWith('grpc_')) values[`${name}_per_s`] = count / seconds;
    if (count === 0) continue;
    for (const [q, label] of QUANTILES) values[`${name}_${label}_ms`] = histogramQuantile(q, delta) * 1000;
  }
  return values;
}

/**
 * Scrapes members' /metrics (client URL; TLS aware — etcd serves /metrics without RBAC, so no credentials are
 * sent) and turns each into a {@link ServerMetricsPoint}. Remembers each member's previous scrape for rates.
 */
export class ServerMetricsSampler {
  private readonly previous = new Map<string, MetricsSnapshot>();

  constructor(private readonly options: { timeoutMs: number; tls?: ScrapeTls }) {}

  async sample(endpoints: readonly string[]): Promise<ServerMetricsPoint[]> {
    return Promise.all(
      endpoints.map(async (endpoint): Promise<ServerMetricsPoint> => {
        try {
          const text = await scrapeMetrics(endpoint, this.options);
          const at = Date.now();
          const snapshot = metricsSnapshot(parsePrometheusText(text), at);
          const values = serverSeries(snapshot, this.previous.get(endpoint));
          this.previous.set(endpoint, snapshot);
          return { at, endpoint, ok: true, values };
        } catch (err) {
          // The previous snapshot stays: the next good scrape gives rates over the whole gap.
          return { at: Date.now(), endpoint, ok: false, error: errorText(err), values: {} };
        }
      }),
    );
  }

  /** Forgets previous scrapes (e.g. after the endpoint list changed). */
  reset(): void {
    this.previous.clear();
  }
}
