import { Finding, ForDurations, RuleCheck, RuleId, Severity, TimelineEntry } from './model';

/**
 * Alert states over time, as Prometheus keeps them for the etcd mixin's rules: a condition (one rule about one
 * subject) is pending from the first check where it holds, fires once it has held for the rule's `for:`
 * duration at a severity, and resolves at the first check where its rule ran and it no longer holds. Each
 * severity of a rule is its own condition (the mixin has separate warning and critical alerts, with their own
 * `for:`): the finding shows the highest one firing, else it is pending as info.
 */

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const TIERS = ['warning', 'critical'] as const;
type Tier = (typeof TIERS)[number];
/** Resolved episodes kept for the timeline. */
const TIMELINE_KEPT = 50;

interface Track {
  entry: Mutable<TimelineEntry>;
  /** Per severity: the first check of its current run. */
  since: Partial<Record<Tier, number>>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface AlertOptions {
  readonly forMs: Readonly<Record<RuleId, ForDurations>>;
  readonly maxCheckGapMs: number;
}

export function findingKey(f: Pick<Finding, 'rule' | 'member' | 'subject'>): string {
  return `${f.rule}/${f.subject ?? f.member ?? ''}`;
}

export class AlertTracker {
  private readonly tracks = new Map<string, Track>();
  private readonly ended: TimelineEntry[] = [];
  private lastCheck: number | undefined;

  constructor(private readonly options: AlertOptions) {}

  /**
   * Advances the states to the check at `at` with the rules' raw findings (severity = the highest severity whose
   * condition holds now) and which rules ran; returns the findings with their alert status, and the timeline.
   */
  update(
    at: number,
    raw: readonly Finding[],
    checks: readonly RuleCheck[],
  ): { findings: Finding[]; timeline: TimelineEntry[] } {
    const gap = this.lastCheck !== undefined && at - this.lastCheck > this.options.maxCheckGapMs;
    this.lastCheck = at;
    const ran = new Set(checks.filter((c) => c.evaluated).map((c) => c.rule));
    const seen = new Set<string>();
    const findings: Finding[] = [];
    for (const f of raw) {
      // Rules give each finding its own subject; a clash would merge two conditions, so keep them apart.
      let key = findingKey(f);
      for (let i = 2; seen.has(key); i++) key = `${findingKey(f)}#${i}`;
      seen.add(key);
      let track = this.tracks.get(key);
      if (track && gap) {
        this.end(key, track, undefined);
        track = undefined;
      }
      if (!track) {
        track = {
          since: {},
          entry: {
            key,
            rule: f.rule,
            member: f.member,
            title: f.title,
            severity: 'info',
            startedAt: at,
            lastSeenAt: at,
            active: true,
          },
        };
        this.tracks.set(key, track);
      }
      findings.push(this.advance(track, f, at));
    }
    for (const [key, track] of [...this.tracks]) {
      if (seen.has(key)) continue;
      // A rule that could not run says nothing about its conditions; a long gap says nothing either.
      if (gap) this.end(key, track, undefined);
      else if (ran.has(track.entry.rule)) this.end(key, track, at);
    }
    return { findings, timeline: this.timeline() };
  }

  private advance(track: Track, f: Finding, at: number): Finding {
    const e = track.entry;
    e.title = f.title;
    e.member = f.member;
    e.lastSeenAt = at;
    if (f.severity === 'info') {
      track.since = {};
      return { ...f, alert: { state: 'firing', since: e.startedAt, firedAt: e.firedAt ?? at } };
    }
    const durations = this.options.forMs[f.rule] ?? {};
    for (const tier of TIERS) {
      // A critical condition implies the rule's warning condition (a lower threshold), if the rule has one.
      const holds = tier === f.severity || (RANK[f.severity] > RANK[tier] && durations[tier] !== undefined);
      if (holds) track.since[tier] ??= at;
      else delete track.since[tier];
    }
    const held = TIERS.filter((t) => track.since[t] !== undefined).map((t) => ({
      tier: t,
      due: track.since[t]! + (durations[t] ?? 0),
    }));
    const firing = held.filter((h) => h.due <= at).sort((a, b) => RANK[b.tier] - RANK[a.tier])[0];
    const since = Math.min(...held.map((h) => track.since[h.tier]!));
    if (firing) {
      e.firedAt ??= at;
      if (RANK[firing.tier] > RANK[e.severity]) e.severity = firing.tier;
      return { ...f, severity: firing.tier, alert: { state: 'firing', since, firedAt: e.firedAt } };
    }
    const next = held.sort((a, b) => a.due - b.due)[0];
    return { ...f, severity: 'info', alert: { state: 'pending', since, firesAt: next.due, firesAs: next.tier } };
  }

  private end(key: string, track: Track, resolvedAt: number | undefined): void {
    this.tracks.delete(key);
    this.ended.unshift({ ...track.entry, active: false, ...(resolvedAt !== undefined ? { resolvedAt } : {}) });
    if (this.ended.length > TIMELINE_KEPT) this.ended.length = TIMELINE_KEPT;
  }

  /** Active episodes first (newest start first), then ended ones (most recently ended first). */
  timeline(): TimelineEntry[] {
    const active = [...this.tracks.values()].map((t) => ({ ...t.entry })).sort((a, b) => b.startedAt - a.startedAt);
    return [...active, ...this.ended.map((e) => ({ ...e }))];
  }
}
