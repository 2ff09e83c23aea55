import { Buckets, Finding, HealthSnapshot, HealthThresholds, MemberMetrics, MemberSnapshot } from './model';

/** What every health rule reads: the snapshot, the earlier ones as time series, counter and histogram arithmetic. */

export interface RuleResult {
  readonly findings: Finding[];
  readonly evaluated: boolean;
  readonly note?: string;
}

export interface Series {
  readonly points: ReadonlyArray<{ readonly at: number; readonly m: MemberMetrics }>;
  /** From the first point to now. */
  readonly seconds: number;
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

  /**
   * The earlier snapshots a window of `ms` needs: the newest one at or before the window's start (the base, as a
   * rate over the window needs a sample at its start), then those inside it, oldest first. Undefined when the
   * history does not reach back that far: a rate over a few seconds is no rate over minutes.
   */
  window(ms: number): HealthSnapshot[] | undefined {
    const now = this.snap.takenAt;
    const earlier = this.history.filter((s) => s.takenAt < now).sort((a, b) => a.takenAt - b.takenAt);
    let base = -1;
    for (let i = 0; i < earlier.length && earlier[i].takenAt <= now - ms; i++) base = i;
    return base < 0 ? undefined : earlier.slice(base);
  }

  /**
   * The member's metrics over the window: from its first sample at or before the window's start through now.
   * Undefined when its samples do not reach back that far (history too short, or it was not scraped then).
   */
  series(member: MemberSnapshot, ms: number): Series | undefined {
    const window = this.window(ms);
    if (!window || !member.metrics) return undefined;
    const now = this.snap.takenAt;
    const points: Array<{ at: number; m: MemberMetrics }> = [];
    for (const s of window) {
      const m = s.members.find((x) => x.key === member.key)?.metrics;
      if (m && (points.length || s.takenAt <= now - ms)) points.push({ at: s.takenAt, m });
      else if (m && !points.length) return undefined;
    }
    if (!points.length) return undefined;
    points.push({ at: now, m: member.metrics });
    return { points, seconds: (now - points[0].at) / 1000 };
  }

  /** The member's samples inside the window (however far back they reach) and now, oldest first. */
  samples(member: MemberSnapshot, ms: number): Array<{ at: number; m: MemberMetrics }> {
    const now = this.snap.takenAt;
    const out: Array<{ at: number; m: MemberMetrics }> = [];
    for (const s of [...this.history].sort((a, b) => a.takenAt - b.takenAt)) {
      const m =
        s.takenAt < now && s.takenAt >= now - ms ? s.members.find((x) => x.key === member.key)?.metrics : undefined;
      if (m) out.push({ at: s.takenAt, m });
    }
    if (member.metrics) out.push({ at: now, m: member.metrics });
    return out;
  }

  /** "Needs 5 min of history (has 40 s)". */
  historyNote(ms: number): string {
    const oldest = Math.min(this.snap.takenAt, ...this.history.map((s) => s.takenAt));
    return `Needs ${dur(ms)} of history (has ${dur(this.snap.takenAt - oldest)}): automatic checks keep it.`;
  }

  /** The members whose samples do not cover the window, for a rule's note. */
  shortNote(members: MemberSnapshot[], ms: number): string | undefined {
    return members.length
      ? `Not judged on ${members.map((m) => m.name).join(', ')}: /metrics samples do not cover the last ${dur(ms)}.`
      : undefined;
  }

  /** Why a metrics rule covers fewer members than answered, for the check's note. */
  metricsNote(): string | undefined {
    const missing = this.snap.members.filter((m) => m.status?.ok && !m.metrics);
    return missing.length
      ? `No /metrics from ${missing.map((m) => `${m.name} (${m.metricsError ?? 'not read'})`).join(', ')}.`
      : undefined;
  }

  /** Why a windowed rule cannot run yet (no /metrics, or a history shorter than `ms`); undefined when it can. */
  rateUnavailable(ms: number): RuleResult | undefined {
    if (!this.scraped.length) return this.noMetrics();
    if (!this.window(ms)) return skipped(this.historyNote(ms));
    return undefined;
  }

  noMetrics(): RuleResult {
    const first = this.snap.members.find((m) => m.metricsError)?.metricsError;
    return skipped(`No member's /metrics could be read${first ? `: ${first}` : '.'}`);
  }
}

/** A note from parts that may be absent. */
export const notes = (...parts: Array<string | undefined>): string | undefined =>
  parts.filter(Boolean).join(' ') || undefined;

/** Counter increase over points, counting a restart (new start time, or a drop) as a reset to zero. */
export function increase(points: ReadonlyArray<{ value?: number; start?: number }>): number {
  let inc = 0;
  let prev: { value?: number; start?: number } | undefined;
  for (const p of points) {
    if (p.value === undefined) continue;
    if (prev?.value !== undefined) {
      const restarted =
        (p.start !== undefined && prev.start !== undefined && p.start !== prev.start) || p.value < prev.value;
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
export const dur = (ms: number): string =>
  ms >= 3600_000
    ? `${+(ms / 3600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${+(ms / 60_000).toFixed(1)} min`
      : `${+(ms / 1000).toFixed(1)} s`;
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
