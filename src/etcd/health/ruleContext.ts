import { Buckets, Finding, HealthSnapshot, HealthThresholds, MemberMetrics, MemberSnapshot } from './model';

/** What every health rule reads: the snapshot, the earlier ones as time series, counter and histogram arithmetic. */

export interface RuleResult {
  readonly findings: Finding[];
  readonly evaluated: boolean;
  readonly note?: string;
}

export const skipped = (note: string): RuleResult => ({ findings: [], evaluated: false, note });
export const done = (findings: Finding[], note?: string): RuleResult => ({ findings, evaluated: true, note });

export class RuleContext {
  readonly live: MemberSnapshot[];
  readonly scraped: MemberSnapshot[];

  constructor(
    readonly snap: HealthSnapshot,
    readonly history: readonly HealthSnapshot[],
    readonly t: HealthThresholds,
  ) {
    this.live = snap.members.filter((m) => m.status?.ok);
    this.scraped = snap.members.filter((m) => m.metrics);
  }

  /** Earlier snapshots inside the window, oldest first. */
  window(ms: number): HealthSnapshot[] {
    const now = this.snap.takenAt;
    return this.history.filter((s) => s.takenAt < now && s.takenAt >= now - ms).sort((a, b) => a.takenAt - b.takenAt);
  }

  /** The member's metrics in each earlier snapshot of the window that has them, then now. */
  series(member: MemberSnapshot, ms: number): Array<{ at: number; m: MemberMetrics }> {
    const out: Array<{ at: number; m: MemberMetrics }> = [];
    for (const s of this.window(ms)) {
      const m = s.members.find((x) => x.key === member.key)?.metrics;
      if (m) out.push({ at: s.takenAt, m });
    }
    if (member.metrics) out.push({ at: this.snap.takenAt, m: member.metrics });
    return out;
  }

  /** Why a metrics rule covers fewer members than answered, for the check's note. */
  metricsNote(): string | undefined {
    const missing = this.snap.members.filter((m) => m.status?.ok && !m.metrics);
    return missing.length ? `No /metrics from ${missing.map((m) => `${m.name} (${m.metricsError ?? 'not read'})`).join(', ')}.` : undefined;
  }

  /** Why a rate rule cannot run yet (no /metrics, or no earlier check within `ms`); undefined when it can. */
  rateUnavailable(ms: number): RuleResult | undefined {
    if (!this.scraped.length) return this.noMetrics();
    if (!this.window(ms).length) return skipped(`Needs an earlier check within the last ${dur(ms)}.`);
    return undefined;
  }

  noMetrics(): RuleResult {
    const first = this.snap.members.find((m) => m.metricsError)?.metricsError;
    return skipped(`No member's /metrics could be read${first ? `: ${first}` : '.'}`);
  }
}

/** Counter increase over points, counting a restart (new start time, or a drop) as a reset to zero. */
export function increase(points: ReadonlyArray<{ value?: number; start?: number }>): number {
  let inc = 0;
  let prev: { value?: number; start?: number } | undefined;
  for (const p of points) {
    if (p.value === undefined) continue;
    if (prev?.value !== undefined) {
      const restarted = (p.start !== undefined && prev.start !== undefined && p.start !== prev.start) || p.value < prev.value;
      inc += restarted ? p.value : p.value - prev.value;
    }
    prev = p;
  }
  return inc;
}

/** Buckets observed between two cumulative histograms; the current ones alone after a reset. */
export function bucketDelta(current: Buckets, base: Buckets | undefined, restarted: boolean): Buckets {
  if (!base || restarted || base.length !== current.length) return current;
  const delta = current.map((b, i) => ({ le: b.le, count: b.count - base[i].count }));
  return delta.some((b) => b.count < 0) ? current : delta;
}

export function total(b: Buckets): number {
  return b.length ? b[b.length - 1].count : 0;
}

export const pct = (x: number): string => `${x.toFixed(x < 10 ? 1 : 0)} %`;
export const secs = (s: number): string => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
export const dur = (ms: number): string => (ms >= 3600_000 ? `${+(ms / 3600_000).toFixed(1)} h` : ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
