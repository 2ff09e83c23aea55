import { AlarmInfo, MemberStatus, memberHex } from '../cluster';

/**
 * What the health doctor works with: findings, thresholds and `for:` durations (the etcd mixin's defaults), the
 * snapshots it takes and the timeline of its alerts. Shared by the collection (doctor.ts), the rules (rules.ts),
 * the alert states (alerts.ts) and the report (report.ts).
 */

export type Severity = 'critical' | 'warning' | 'info';
export type RuleId =
  | 'membersDown'
  | 'insufficientMembers'
  | 'noLeader'
  | 'leaderChanges'
  | 'fsyncSlow'
  | 'backendCommitSlow'
  | 'grpcFailures'
  | 'quotaLowSpace'
  | 'dbGrowth'
  | 'fragmentation'
  | 'mixedVersions'
  | 'appliedIndexLag'
  | 'hashMismatch'
  | 'alarms'
  | 'largeValues'
  | 'peerRoundTripSlow'
  | 'proposalsFailed'
  | 'peerSendFailures';

export interface Finding {
  readonly rule: RuleId;
  readonly severity: Severity;
  /** One line with the key number: "1 of 3 members is down". */
  readonly title: string;
  /** Member name (or endpoint) when the finding is about one member. */
  readonly member?: string;
  /** The measured numbers, one fact per line. */
  readonly evidence: string[];
  /** What to do, concrete, 1-3 sentences. */
  readonly remedy: string;
  /** Tells findings of one rule apart across checks when `member` does not (e.g. "m0→m1"). */
  readonly subject?: string;
  /** Where the condition stands over time (set by the doctor from its own history; absent on raw rule output). */
  readonly alert?: AlertStatus;
}

/**
 * A condition that holds but not yet for its `for:` duration is pending (its finding is info until then); it
 * fires at the rule's severity once it has held that long, and resolves at the first check where it no longer holds.
 */
export interface AlertStatus {
  readonly state: 'pending' | 'firing';
  /** The first check of the current unbroken run of checks where the condition held. */
  readonly since: number;
  /** Pending: when it fires if it keeps holding, and at which severity. */
  readonly firesAt?: number;
  readonly firesAs?: Severity;
  /** Firing: when it (first) fired. */
  readonly firedAt?: number;
}

/** One episode of a condition: started, fired (if it held long enough), resolved (or still active). */
export interface TimelineEntry {
  readonly key: string;
  readonly rule: RuleId;
  readonly member?: string;
  /** The finding's latest title. */
  readonly title: string;
  /** The highest severity it fired at; info when it never fired. */
  readonly severity: Severity;
  readonly startedAt: number;
  readonly firedAt?: number;
  /** The last check where it held. */
  readonly lastSeenAt: number;
  /** The first check where it no longer held; absent while active, or when checks stopped for too long to tell. */
  readonly resolvedAt?: number;
  readonly active: boolean;
}

/** How long a condition must hold before it fires, per severity (ms); a missing severity fires at once. */
export type ForDurations = Readonly<Partial<Record<'warning' | 'critical', number>>>;

export interface RuleCheck {
  readonly rule: RuleId;
  readonly label: string;
  readonly evaluated: boolean;
  readonly note?: string;
}

/** Every threshold, defaulting to the etcd mixin's values; windows in ms (tests shorten them). */
export interface HealthThresholds {
  /**
   * etcdMembersDown also counts a member its peers fail to send to (> 0.01 failures/s over 4 × 30 s scrapes).
   * The doctor reports that as down only when the member does not answer now; otherwise as "was unreachable".
   */
  readonly peerSendFailuresPerSecond: number;
  readonly membersDownWindowMs: number;
  /** etcdHighNumberOfLeaderChanges: increase ≥ 4 within 15 min. */
  readonly leaderChangesMax: number;
  readonly leaderChangesWindowMs: number;
  /** Window of the latency histograms (the mixin's rate(...[5m])). Without an earlier check in it, since start. */
  readonly latencyWindowMs: number;
  /** etcdHighFsyncDurations: p99 WAL fsync > 0.5 s warning, > 1 s critical. */
  readonly fsyncWarningSeconds: number;
  readonly fsyncCriticalSeconds: number;
  /** etcdHighCommitDurations: p99 backend commit > 0.25 s. */
  readonly backendCommitWarningSeconds: number;
  /** etcdMemberCommunicationSlow: p99 peer round trip > 0.15 s. */
  readonly peerRoundTripWarningSeconds: number;
  /** etcdHighNumberOfFailedGRPCRequests: failed share per method over 5 min > 1 % warning, > 5 % critical. */
  readonly grpcFailuresWarningPercent: number;
  readonly grpcFailuresCriticalPercent: number;
  readonly grpcFailuresWindowMs: number;
  /** Not in the mixin: fewer requests of a method than this in the window are too few to judge a failure share. */
  readonly grpcFailuresMinRequests: number;
  /** Not in the mixin: a p99 over fewer observations than this in the window is not judged. */
  readonly latencyMinObservations: number;
  /** etcdHighNumberOfFailedProposals: rate over 15 min > 5 per second. */
  readonly proposalsFailedPerSecond: number;
  readonly proposalsFailedWindowMs: number;
  /** etcdBackendQuotaLowSpace: db size > 95 % of the quota is critical. */
  readonly quotaCriticalPercent: number;
  /** Not in the mixin: an earlier warning, so there is time to compact and defragment before NOSPACE. */
  readonly quotaWarningPercent: number;
  /** etcdExcessiveDatabaseGrowth: predict_linear(db size [4h], 4h) > quota. */
  readonly dbGrowthWindowMs: number;
  readonly dbGrowthHorizonMs: number;
  /** Not in the mixin: extrapolating a few seconds of growth over 4 h would flag every write burst. */
  readonly dbGrowthMinSpanMs: number;
  /** etcdDatabaseHighFragmentationRatio: in use / allocated < 0.5 while in use > 100 MiB (104857600 B). */
  readonly fragmentationRatio: number;
  readonly fragmentationMinInUseBytes: number;
  /**
   * Raft entries a member may trail the most advanced one (or its own commit index) by. 5000 is the gap at which
   * etcd itself starts refusing requests ("too many requests", maxGapBetweenApplyAndCommitIndex).
   */
  readonly appliedIndexLagMax: number;
  /**
   * A value at least this large is reported. 512 KiB: a third of etcd's default request limit (1.5 MiB), so such
   * a value can barely grow and cannot share a transaction with a second one; each write of it is replicated to
   * every member and kept per revision until compaction, and it stalls other requests behind it.
   */
  readonly largeValueBytes: number;
  /** Keys the large-value scan reads at most per check (it reports how many it covered of how many). */
  readonly largeValueScanMaxKeys: number;
  /** The `for:` of each rule (the mixin's; tests shorten them). */
  readonly forMs: Readonly<Record<RuleId, ForDurations>>;
  /**
   * Checks further apart than this break a condition's run: a condition seen twice an hour apart has not been
   * seen to hold for that hour. The automatic checks (every minute by default) keep well inside it.
   */
  readonly maxCheckGapMs: number;
}

const MIN = 60_000;

/** The etcd mixin's `for:` durations (contrib/mixin); rules not in the mixin report facts at once. */
export const MIXIN_FOR_MS: Readonly<Record<RuleId, ForDurations>> = {
  membersDown: { critical: 10 * MIN },
  insufficientMembers: { critical: 3 * MIN },
  noLeader: { critical: MIN, warning: MIN },
  leaderChanges: { warning: 5 * MIN },
  fsyncSlow: { warning: 10 * MIN, critical: 10 * MIN },
  backendCommitSlow: { warning: 10 * MIN },
  grpcFailures: { warning: 10 * MIN, critical: 5 * MIN },
  quotaLowSpace: { warning: 10 * MIN, critical: 10 * MIN },
  dbGrowth: { warning: 10 * MIN },
  fragmentation: { warning: 10 * MIN },
  mixedVersions: {},
  // Not in the mixin: a backlog is normal for a moment under a write burst.
  appliedIndexLag: { warning: MIN },
  hashMismatch: {},
  alarms: {},
  largeValues: {},
  peerRoundTripSlow: { warning: 10 * MIN },
  proposalsFailed: { warning: 15 * MIN },
  peerSendFailures: {},
};

/** The same `for:` for every rule and severity (tests use short ones). */
export function uniformFor(ms: number): Record<RuleId, ForDurations> {
  const out = {} as Record<RuleId, ForDurations>;
  for (const rule of Object.keys(MIXIN_FOR_MS) as RuleId[]) out[rule] = { warning: ms, critical: ms };
  return out;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = {
  peerSendFailuresPerSecond: 0.01,
  membersDownWindowMs: 120_000,
  leaderChangesMax: 4,
  leaderChangesWindowMs: 15 * 60_000,
  latencyWindowMs: 5 * 60_000,
  fsyncWarningSeconds: 0.5,
  fsyncCriticalSeconds: 1,
  backendCommitWarningSeconds: 0.25,
  peerRoundTripWarningSeconds: 0.15,
  grpcFailuresWarningPercent: 1,
  grpcFailuresCriticalPercent: 5,
  grpcFailuresWindowMs: 5 * 60_000,
  grpcFailuresMinRequests: 100,
  latencyMinObservations: 20,
  proposalsFailedPerSecond: 5,
  proposalsFailedWindowMs: 15 * 60_000,
  quotaCriticalPercent: 95,
  quotaWarningPercent: 80,
  dbGrowthWindowMs: 4 * 3600_000,
  dbGrowthHorizonMs: 4 * 3600_000,
  dbGrowthMinSpanMs: 10 * 60_000,
  fragmentationRatio: 0.5,
  fragmentationMinInUseBytes: 104_857_600,
  appliedIndexLagMax: 5000,
  largeValueBytes: 512 * 1024,
  largeValueScanMaxKeys: 10_000,
  forMs: MIXIN_FOR_MS,
  maxCheckGapMs: 5 * MIN,
};

export type Buckets = ReadonlyArray<{ readonly le: number; readonly count: number }>;

/** What the doctor keeps of one member's /metrics: small enough to hold hours of history. */
export interface MemberMetrics {
  readonly hasLeader?: number;
  readonly leaderChanges?: number;
  readonly proposalsFailed?: number;
  /** process_start_time_seconds: tells a counter reset from a restart even when the counter grew past its old value. */
  readonly processStartTime?: number;
  readonly dbTotalBytes?: number;
  readonly dbInUseBytes?: number;
  readonly quotaBytes?: number;
  readonly fsync?: Buckets;
  readonly backendCommit?: Buckets;
  /** By peer (label To, hex member id). */
  readonly peerRoundTrip: Readonly<Record<string, Buckets>>;
  readonly peerSentFailures: Readonly<Record<string, number>>;
  /** grpc_server_handled_total by method: all codes, and the codes the mixin counts as failures. */
  readonly grpcHandled: Readonly<Record<string, { readonly total: number; readonly failed: number }>>;
}

export interface MemberSnapshot {
  /** Identity across snapshots: the member id, else the endpoint. */
  readonly key: string;
  /** Decimal member id, when known. */
  readonly id?: string;
  /** Member name; the endpoint when the name is unknown. */
  readonly name: string;
  /** The client URL asked; absent when the member advertises none (added but never started). */
  readonly endpoint?: string;
  readonly isLearner: boolean;
  readonly status?: MemberStatus;
  readonly metrics?: MemberMetrics;
  readonly metricsError?: string;
}

export interface HashComparison {
  /** The common revision every compared member has. */
  readonly revision: string;
  readonly members: ReadonlyArray<{
    readonly name: string;
    readonly hash?: string;
    readonly compactRevision?: string;
    readonly error?: string;
  }>;
}

export interface LargeValueScan {
  readonly thresholdBytes: number;
  readonly scanned: number;
  /** Keys in the (namespace's) keyspace at the scan's revision. */
  readonly total: number;
  readonly revision: string;
  /** Largest first; at most {@link LARGE_VALUES_KEPT}. */
  readonly large: ReadonlyArray<{ readonly key: string; readonly bytes: number }>;
  readonly largeCount: number;
  /** Why the scan ended before the last key (cap reached, error). */
  readonly stoppedBecause?: string;
}

export interface HealthSnapshot {
  readonly takenAt: number;
  readonly members: MemberSnapshot[];
  /** Where the member set came from: MemberList, or the profile's endpoints when it failed. */
  readonly membersSource: 'memberList' | 'profile';
  readonly membersError?: string;
  readonly alarms?: AlarmInfo[];
  readonly alarmsError?: string;
  readonly hash?: HashComparison;
  readonly hashNote?: string;
  readonly largeValues?: LargeValueScan;
  readonly largeValuesNote?: string;
}

export interface HealthReport {
  readonly checkedAt: number;
  readonly durationMs: number;
  /** Sorted: critical, warning, info. */
  readonly findings: Finding[];
  /** Every rule, whether it could be evaluated and why not. */
  readonly checks: RuleCheck[];
  readonly snapshot: HealthSnapshot;
  /** Episodes of every condition the doctor has seen, newest start first (active and recently resolved). */
  readonly timeline: TimelineEntry[];
}

export const RULE_LABELS: Readonly<Record<RuleId, string>> = {
  membersDown: 'Members down',
  insufficientMembers: 'Members for quorum',
  noLeader: 'Leader',
  leaderChanges: 'Leader changes',
  fsyncSlow: 'WAL fsync duration',
  backendCommitSlow: 'Backend commit duration',
  grpcFailures: 'Failed gRPC requests',
  quotaLowSpace: 'Database quota',
  dbGrowth: 'Database growth',
  fragmentation: 'Fragmentation',
  mixedVersions: 'Member versions',
  appliedIndexLag: 'Raft applied index',
  hashMismatch: 'HashKV across members',
  alarms: 'Alarms',
  largeValues: 'Very large values',
  peerRoundTripSlow: 'Peer round trip',
  proposalsFailed: 'Failed proposals',
  peerSendFailures: 'Peer sends',
};

export const LARGE_VALUES_KEPT = 20;

export function memberNameById(snap: HealthSnapshot, id: string): string {
  const hex = /^[0-9]+$/.test(id) ? memberHex(id) : id;
  return snap.members.find((m) => m.id === id || (m.id && memberHex(m.id) === hex))?.name ?? hex;
}
