/**
 * The latency panel's data model: ticks and metric rounds kept in bounded arrays, and the series each chart
 * plots (x in seconds, one y array per line, null for gaps). No DOM, so it is unit-tested directly.
 */
import { LatencyTickDto, MetricsPointDto } from '../../shared/latencyProtocol';

export interface Series {
  readonly label: string;
  /** Index into the palette (same member → same colour on every chart). */
  readonly color: number;
  readonly dash?: boolean;
  readonly values: Array<number | null>;
}

export type Quantile = 'p50' | 'p95' | 'p99' | 'max';

export interface ChartData {
  readonly x: number[];
  readonly series: Series[];
}

export interface MetricsRound {
  readonly at: number;
  readonly byEndpoint: Map<string, MetricsPointDto>;
}

export const OP_LABELS: Record<string, string> = {
  rangeSerializable: 'Range (serializable)',
  rangeLinearizable: 'Range (linearizable)',
  putDelete: 'Put + Delete',
  status: 'Status',
};

export class LatencyModel {
  ticks: LatencyTickDto[] = [];
  rounds: MetricsRound[] = [];

  constructor(
    readonly endpoints: ReadonlyArray<{ url: string; name: string }>,
    private readonly capacity = 3600,
  ) {}

  addTick(tick: LatencyTickDto): void {
    this.ticks.push(tick);
    if (this.ticks.length > this.capacity) this.ticks.splice(0, this.ticks.length - this.capacity);
  }

  /** One scrape round: the points of every member from one `metrics` message. */
  addMetrics(points: readonly MetricsPointDto[]): void {
    if (!points.length) return;
    const at = Math.max(...points.map((p) => p.at));
    this.rounds.push({ at, byEndpoint: new Map(points.map((p) => [p.endpoint, p])) });
    if (this.rounds.length > this.capacity) this.rounds.splice(0, this.rounds.length - this.capacity);
  }

  /** Restores history sent with `init` (metric points regrouped into rounds by time). */
  load(ticks: readonly LatencyTickDto[], metrics: readonly MetricsPointDto[]): void {
    this.ticks = [];
    this.rounds = [];
    ticks.forEach((t) => this.addTick(t));
    let round: MetricsPointDto[] = [];
    for (const p of metrics) {
      if (round.some((r) => r.endpoint === p.endpoint)) {
        this.addMetrics(round);
        round = [];
      }
      round.push(p);
    }
    this.addMetrics(round);
  }

  private name(url: string): string {
    return this.endpoints.find((e) => e.url === url)?.name ?? url;
  }

  /**
   * The chosen quantiles of one probe op, per member (same colour per member; the first quantile solid, the
   * others dashed).
   */
  probeChart(op: string, quantiles: readonly Quantile[] = ['p99', 'p50']): ChartData {
    const x = this.ticks.map((t) => t.at / 1000);
    const series: Series[] = [];
    this.endpoints.forEach((e, i) => {
      const pick = (q: Quantile) =>
        this.ticks.map((t) => t.probes.find((p) => p.endpoint === e.url && p.op === op)?.stats[q] ?? null);
      quantiles.forEach((q, j) => series.push({ label: `${e.name} ${q}`, color: i, dash: j > 0, values: pick(q) }));
    });
    return { x, series };
  }

  /** Failed probes (errors + timeouts) per tick and member, all ops together. */
  failureChart(): ChartData {
    const x = this.ticks.map((t) => t.at / 1000);
    const series: Series[] = [];
    this.endpoints.forEach((e, i) => {
      series.push({
        label: `${e.name} errors`,
        color: i,
        values: this.ticks.map((t) => sum(t.probes.filter((p) => p.endpoint === e.url).map((p) => p.tickErrors))),
      });
      series.push({
        label: `${e.name} timeouts`,
        color: i,
        dash: true,
        values: this.ticks.map((t) => sum(t.probes.filter((p) => p.endpoint === e.url).map((p) => p.tickTimeouts))),
      });
    });
    return { x, series };
  }

  /** p99 of the extension's own operations, by type (the busiest `limit` types). */
  ownChart(limit = 6): ChartData {
    const x = this.ticks.map((t) => t.at / 1000);
    const last = this.ticks[this.ticks.length - 1];
    const ops = (last?.own ?? [])
      .slice()
      .sort((a, b) => b.stats.count - a.stats.count)
      .slice(0, limit)
      .map((o) => o.op);
    return {
      x,
      series: ops.map((op, i) => ({
        label: `${op} p99`,
        color: i,
        values: this.ticks.map((t) => t.own.find((o) => o.op === op)?.stats.p99 ?? null),
      })),
    };
  }

  /** The latest histogram of one member's op. */
  histogram(endpoint: string, op: string): { bounds: number[]; counts: number[] } | undefined {
    const last = this.ticks[this.ticks.length - 1];
    return last?.probes.find((p) => p.endpoint === endpoint && p.op === op)?.histogram;
  }

  /** One server metric per member (series names as the sampler emits them, e.g. wal_fsync_p99_ms). */
  metricChart(names: readonly string[]): ChartData {
    const x = this.rounds.map((r) => r.at / 1000);
    const series: Series[] = [];
    this.endpoints.forEach((e, i) => {
      names.forEach((name, j) => {
        series.push({
          label: `${e.name}${names.length > 1 ? ` ${name}` : ''}`,
          color: i,
          dash: j > 0,
          values: this.rounds.map((r) => {
            const p = r.byEndpoint.get(e.url);
            const v = p?.ok ? p.values[name] : undefined;
            return v === undefined || !Number.isFinite(v) ? null : v;
          }),
        });
      });
    });
    return { x, series };
  }

  /**
   * gRPC per method (the busiest `limit` methods): request or failure rate summed over members, or the worst
   * member's p99 (handling-time histograms exist only with etcd's --metrics=extensive).
   */
  grpcChart(kind: 'rate' | 'errors' | 'p99' = 'rate', limit = 6): ChartData {
    const x = this.rounds.map((r) => r.at / 1000);
    const suffix = kind === 'rate' ? '_per_s' : kind === 'errors' ? '_errors_per_s' : '_p99_ms';
    const methodOf = (name: string): string | undefined => {
      if (!name.startsWith('grpc_') || !name.endsWith(suffix)) return undefined;
      const method = name.slice('grpc_'.length, -suffix.length);
      // "Range_errors_per_s" ends in "_per_s" too: it is not a method called "Range_errors".
      return kind === 'rate' && method.endsWith('_errors') ? undefined : method;
    };
    const totals = new Map<string, number>();
    for (const r of this.rounds.slice(-10)) {
      for (const p of r.byEndpoint.values()) {
        for (const [k, v] of Object.entries(p.values)) {
          const m = methodOf(k);
          if (m && Number.isFinite(v)) totals.set(m, (totals.get(m) ?? 0) + v);
        }
      }
    }
    const methods = [...totals]
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([m]) => m);
    return {
      x,
      series: methods.map((m, i) => ({
        label: kind === 'p99' ? `${m} p99` : `${m}${kind === 'errors' ? ' failed' : ''}/s`,
        color: i,
        values: this.rounds.map((r) => {
          const found = [...r.byEndpoint.values()]
            .map((p) => p.values[`grpc_${m}${suffix}`])
            .filter((v): v is number => v !== undefined && Number.isFinite(v));
          if (!found.length) return null;
          return kind === 'p99' ? Math.max(...found) : found.reduce((a, b) => a + b, 0);
        }),
      })),
    };
  }

  /** Members whose last scrape failed, with why. */
  metricsProblems(): string[] {
    const last = this.rounds[this.rounds.length - 1];
    if (!last) return [];
    return [...last.byEndpoint.values()]
      .filter((p) => !p.ok)
      .map((p) => `${this.name(p.endpoint)}: ${p.error ?? 'no answer'}`);
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Whether a chart has anything to draw (at least one non-null value). */
export function hasData(data: ChartData): boolean {
  return data.series.some((s) => s.values.some((v) => v !== null));
}
