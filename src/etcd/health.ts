import { AlarmInfo, MemberClients, MemberInfo, MemberStatus, hashKv, listAlarms, listMembers, memberHex, memberStatuses } from './cluster';
import { EtcdConnection } from './connection';
import { EtcdExplorerError, cancelledError, isCancellation } from './errors';
import { displayKey, prefixEnd } from './keyCodec';
import { ScrapeTls, histogramQuantile, histograms, mergeHistograms, parsePrometheusText, scrapeMetrics } from './metrics';
import { formatBytes } from './values';

/**
 * The health doctor: etcd's official Prometheus alert conditions (etcd-io/etcd contrib/mixin) evaluated over
 * snapshots the doctor takes itself, plus checks Prometheus cannot make (mixed versions, applied-index lag,
 * HashKV across members, alarms, very large values). Alerts that need a rate use the doctor's own earlier
 * snapshots as the time series; the mixin's `for:` durations are not applied (a check is a point in time).
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
  | 'proposalsFailed';

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
}

export interface RuleCheck {
  readonly rule: RuleId;
  readonly label: string;
  readonly evaluated: boolean;
  readonly note?: string;
}

/** Every threshold, defaulting to the etcd mixin's values; windows in ms (tests shorten them). */
export interface HealthThresholds {
  /** etcdMembersDown also counts a member its peers fail to send to (> 0.01 failures/s over 4 × 30 s scrapes). */
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
  readonly members: ReadonlyArray<{ readonly name: string; readonly hash?: string; readonly compactRevision?: string; readonly error?: string }>;
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
}

export interface HealthDoctorOptions {
  readonly thresholds?: Partial<HealthThresholds>;
  readonly scrapeTls?: ScrapeTls;
  /** Default true. */
  readonly scanLargeValues?: boolean;
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
};

const RULE_ORDER = Object.keys(RULE_LABELS) as RuleId[];
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
const FAILED_GRPC_CODES = new Set(['Unknown', 'FailedPrecondition', 'ResourceExhausted', 'Internal', 'Unavailable', 'DataLoss', 'DeadlineExceeded']);
export const LARGE_VALUES_KEPT = 20;
/** History older than the longest window is dropped; the cap bounds memory for very frequent checks. */
const HISTORY_MAX = 2000;

// ---------------------------------------------------------------------------------------------------------------
// Collection

/** Runs checks against one connection and keeps their snapshots as the history the rate rules need. */
export class HealthDoctor {
  private readonly thresholds: HealthThresholds;
  private readonly historyList: HealthSnapshot[] = [];

  constructor(
    private readonly conn: EtcdConnection,
    private readonly clients: MemberClients,
    private readonly options: HealthDoctorOptions = {},
  ) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  }

  /** Earlier snapshots, oldest first. */
  get history(): readonly HealthSnapshot[] {
    return this.historyList;
  }

  /**
   * Collects a snapshot (members, per-member status, alarms, /metrics per member, HashKV, large values), keeps
   * it in the history for rate rules, evaluates every rule. Never throws for cluster trouble; throws only
   * cancellation.
   */
  async check(signal?: AbortSignal): Promise<HealthReport> {
    const started = Date.now();
    const snapshot = await this.collect(signal);
    const { findings, checks } = evaluate(snapshot, this.historyList, this.thresholds);
    this.remember(snapshot);
    return { checkedAt: started, durationMs: Date.now() - started, findings, checks, snapshot };
  }

  private remember(snapshot: HealthSnapshot): void {
    const t = this.thresholds;
    const keepMs = Math.max(t.membersDownWindowMs, t.leaderChangesWindowMs, t.latencyWindowMs, t.grpcFailuresWindowMs, t.proposalsFailedWindowMs, t.dbGrowthWindowMs);
    this.historyList.push(snapshot);
    while (this.historyList.length > HISTORY_MAX || (this.historyList.length && this.historyList[0].takenAt < snapshot.takenAt - keepMs)) this.historyList.shift();
  }

  private async collect(signal?: AbortSignal): Promise<HealthSnapshot> {
    const takenAt = Date.now();
    const timeoutMs = this.conn.timeoutMs;
    const { list, error: membersError } = await this.memberList(signal);
    const targets: Array<{ id?: string; name: string; endpoint?: string; isLearner: boolean }> = list
      ? list.map((m) => ({ id: m.id, name: m.name || m.clientUrls[0] || `unstarted ${memberHex(m.id)}`, endpoint: m.clientUrls[0], isLearner: m.isLearner }))
      : this.conn.profile.endpoints.map((e) => ({ name: e, endpoint: e, isLearner: false }));

    const withEndpoint = targets.filter((t) => t.endpoint).map((t) => t.endpoint!);
    const [statuses, scrapes] = await Promise.all([
      abortable(memberStatuses(this.clients, withEndpoint), signal),
      Promise.all(
        withEndpoint.map((e) =>
          abortable(scrapeMetrics(e, { timeoutMs, tls: this.options.scrapeTls }), signal).then(
            (text) => ({ metrics: extractMetrics(text) }),
            (err: unknown) => {
              if (isCancellation(err)) throw err;
              return { error: message(err) };
            },
          ),
        ),
      ),
    ]);
    const members: MemberSnapshot[] = targets.map((t) => {
      const i = t.endpoint ? withEndpoint.indexOf(t.endpoint) : -1;
      const status = i >= 0 ? statuses[i] : undefined;
      const scrape = i >= 0 ? scrapes[i] : undefined;
      const id = t.id ?? (status?.ok ? status.memberId : undefined);
      return {
        key: id ?? t.endpoint ?? t.name,
        id,
        name: t.name,
        endpoint: t.endpoint,
        isLearner: t.isLearner || (status?.ok === true && status.isLearner),
        status,
        metrics: scrape && 'metrics' in scrape ? scrape.metrics : undefined,
        metricsError: scrape && 'error' in scrape ? scrape.error : undefined,
      };
    });
    const live = members.filter((m) => m.status?.ok);

    // In parallel: without quorum the alarm list and the linearizable scan each wait for their deadline.
    const [alarms, hash, large] = await Promise.all([
      this.alarms(live, signal),
      this.compareHashes(live, signal),
      this.options.scanLargeValues === false ? Promise.resolve({ note: 'Turned off in the settings.' } as { scan?: LargeValueScan; note?: string }) : this.scanLargeValues(signal),
    ]);
    return {
      takenAt,
      members,
      membersSource: list ? 'memberList' : 'profile',
      membersError,
      alarms: alarms.alarms,
      alarmsError: alarms.error,
      hash: hash.hash,
      hashNote: hash.note,
      largeValues: large.scan,
      largeValuesNote: large.note,
    };
  }

  /** MemberList through the connection, else through each profile endpoint alone (a dead one may be picked first). */
  private async memberList(signal?: AbortSignal): Promise<{ list?: MemberInfo[]; error?: string }> {
    let error = '';
    for (const conn of [this.conn, ...this.conn.profile.endpoints.map((e) => this.clients.for(e))]) {
      try {
        return { list: await abortable(listMembers(conn, signal), signal) };
      } catch (err) {
        if (isCancellation(err)) throw err;
        error ||= message(err);
      }
    }
    return { error };
  }

  /** Alarms from the first member that answers (etcd 3.4 serves them through raft, so without quorum none does). */
  private async alarms(live: MemberSnapshot[], signal?: AbortSignal): Promise<{ alarms?: AlarmInfo[]; error?: string }> {
    let error = live.length ? '' : 'No member answered.';
    for (const m of live) {
      try {
        return { alarms: await abortable(listAlarms(this.clients.for(m.endpoint!)), signal) };
      } catch (err) {
        if (isCancellation(err)) throw err;
        error ||= message(err);
      }
    }
    return { error };
  }

  /**
   * HashKV of every answering member at one revision all of them have: the smallest of their current revisions.
   * The hash covers revisions above the member's compact revision, so hashes are only comparable between
   * members that report the same compact revision (as etcd's own corruption check requires).
   */
  private async compareHashes(live: MemberSnapshot[], signal?: AbortSignal): Promise<{ hash?: HashComparison; note?: string }> {
    if (live.length < 2) return { note: `Needs at least 2 answering members (${live.length} answered).` };
    const revisions = await Promise.all(
      live.map((m) =>
        abortable(this.clients.for(m.endpoint!).call(`read the revision of ${m.name}`, (c) => c.kv.range({ key: Buffer.from([0]), count_only: true, serializable: true }), signal), signal).then(
          (r) => BigInt(r.header.revision),
          (err: unknown) => {
            if (isCancellation(err)) throw err;
            return undefined;
          },
        ),
      ),
    );
    const known = live.filter((_, i) => revisions[i] !== undefined);
    if (known.length < 2) return { note: 'Fewer than 2 members reported their revision.' };
    const revision = revisions.filter((r): r is bigint => r !== undefined).reduce((a, b) => (b < a ? b : a)).toString();
    const results = await Promise.all(
      known.map((m) =>
        abortable(hashKv(this.clients.for(m.endpoint!), revision), signal).then(
          (h) => ({ name: m.name, hash: h.hash, compactRevision: h.compactRevision }),
          (err: unknown) => {
            if (isCancellation(err)) throw err;
            return { name: m.name, error: message(err) };
          },
        ),
      ),
    );
    return { hash: { revision, members: results } };
  }

  private async scanLargeValues(signal?: AbortSignal): Promise<{ scan?: LargeValueScan; note?: string }> {
    try {
      return { scan: await scanLargeValues(this.conn, this.thresholds.largeValueBytes, this.thresholds.largeValueScanMaxKeys, signal) };
    } catch (err) {
      if (isCancellation(err)) throw err;
      return { note: `Could not scan values: ${message(err)}` };
    }
  }
}

/**
 * Reads values page by page (never a sort order: etcd ≤ 3.6 ignores the limit then) at one pinned revision,
 * at most `maxKeys` keys, and keeps the largest. Pages adapt to the values seen: many keys while values are
 * small, few after a big one (a page is one gRPC message, and values reach 1.5 MiB by default); a page that
 * still comes back too large is retried smaller.
 */
export async function scanLargeValues(conn: EtcdConnection, thresholdBytes: number, maxKeys: number, signal?: AbortSignal): Promise<LargeValueScan> {
  const PAGE_BYTES = 8 * 1024 * 1024;
  const ns = conn.namespace;
  const start = ns.length ? ns : Buffer.from([0]);
  const end = ns.length ? prefixEnd(ns) : Buffer.from([0]);
  const head = await conn.call('count the keys', (c) => c.kv.range({ key: start, range_end: end, count_only: true }), signal);
  const total = Number(head.count);
  const revision = head.header.revision;
  const large: Array<{ key: string; bytes: number }> = [];
  let largeCount = 0;
  let scanned = 0;
  let limit = 100;
  let key = start;
  let stoppedBecause: string | undefined;
  for (;;) {
    if (scanned >= maxKeys) {
      if (scanned < total) stoppedBecause = `the scan stops after ${maxKeys} keys`;
      break;
    }
    let page;
    try {
      const pageLimit = Math.min(limit, maxKeys - scanned);
      page = await conn.call('read values for the size scan', (c) => c.kv.range({ key, range_end: end, limit: pageLimit, revision }), signal);
    } catch (err) {
      if (err instanceof EtcdExplorerError && err.kind === 'valueTooLarge' && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 8));
        continue;
      }
      if (isCancellation(err) || scanned === 0) throw err;
      stoppedBecause = message(err);
      break;
    }
    let biggest = 0;
    for (const kv of page.kvs) {
      scanned++;
      const bytes = kv.value.length;
      biggest = Math.max(biggest, bytes);
      if (bytes >= thresholdBytes) {
        largeCount++;
        large.push({ key: displayKey(conn.relativeKey(kv.key)), bytes });
        large.sort((a, b) => b.bytes - a.bytes);
        if (large.length > LARGE_VALUES_KEPT) large.pop();
      }
    }
    if (!page.more || page.kvs.length === 0) break;
    key = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    limit = Math.max(1, Math.min(1000, Math.floor(PAGE_BYTES / Math.max(biggest, 1024))));
  }
  return { thresholdBytes, scanned, total, revision, large, largeCount, stoppedBecause };
}

/** The few series the rules use, from one member's Prometheus text. */
export function extractMetrics(text: string): MemberMetrics {
  const f = parsePrometheusText(text);
  const value = (name: string): number | undefined => f.get(name)?.samples.find((s) => s.name === name)?.value;
  const buckets = (name: string): Buckets | undefined => mergeHistograms(histograms(f.get(name)))?.buckets;
  const peerRoundTrip: Record<string, Buckets> = {};
  for (const h of histograms(f.get('etcd_network_peer_round_trip_time_seconds'))) peerRoundTrip[h.labels.To ?? '?'] = h.buckets;
  const peerSentFailures: Record<string, number> = {};
  for (const s of f.get('etcd_network_peer_sent_failures_total')?.samples ?? []) {
    const to = s.labels.To ?? '?';
    peerSentFailures[to] = (peerSentFailures[to] ?? 0) + s.value;
  }
  const grpcHandled: Record<string, { total: number; failed: number }> = {};
  for (const s of f.get('grpc_server_handled_total')?.samples ?? []) {
    const method = s.labels.grpc_method ?? '?';
    const entry = (grpcHandled[method] ??= { total: 0, failed: 0 });
    entry.total += s.value;
    if (FAILED_GRPC_CODES.has(s.labels.grpc_code ?? '')) entry.failed += s.value;
  }
  return {
    hasLeader: value('etcd_server_has_leader'),
    leaderChanges: value('etcd_server_leader_changes_seen_total'),
    proposalsFailed: value('etcd_server_proposals_failed_total'),
    processStartTime: value('process_start_time_seconds'),
    dbTotalBytes: value('etcd_mvcc_db_total_size_in_bytes') ?? value('etcd_debugging_mvcc_db_total_size_in_bytes'),
    dbInUseBytes: value('etcd_mvcc_db_total_size_in_use_in_bytes'),
    quotaBytes: value('etcd_server_quota_backend_bytes'),
    fsync: buckets('etcd_disk_wal_fsync_duration_seconds'),
    backendCommit: buckets('etcd_disk_backend_commit_duration_seconds'),
    peerRoundTrip,
    peerSentFailures,
    grpcHandled,
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation (pure)

interface RuleResult {
  readonly findings: Finding[];
  readonly evaluated: boolean;
  readonly note?: string;
}

const skipped = (note: string): RuleResult => ({ findings: [], evaluated: false, note });
const done = (findings: Finding[], note?: string): RuleResult => ({ findings, evaluated: true, note });

/** Pure: findings from a snapshot and earlier snapshots (unit-testable with synthetic snapshots). */
export function evaluate(snapshot: HealthSnapshot, history: readonly HealthSnapshot[], thresholds: HealthThresholds): { findings: Finding[]; checks: RuleCheck[] } {
  const ctx = new Context(snapshot, history, thresholds);
  const rules: Record<RuleId, (c: Context) => RuleResult> = {
    membersDown,
    insufficientMembers,
    noLeader,
    leaderChanges,
    fsyncSlow: (c) => latencyRule(c, 'fsyncSlow', 'fsync', 'WAL fsync', c.t.fsyncWarningSeconds, c.t.fsyncCriticalSeconds),
    backendCommitSlow: (c) => latencyRule(c, 'backendCommitSlow', 'backendCommit', 'backend commit', c.t.backendCommitWarningSeconds, Infinity),
    grpcFailures,
    quotaLowSpace,
    dbGrowth,
    fragmentation,
    mixedVersions,
    appliedIndexLag,
    hashMismatch,
    alarms,
    largeValues,
    peerRoundTripSlow,
    proposalsFailed,
  };
  const findings: Finding[] = [];
  const checks: RuleCheck[] = [];
  for (const rule of RULE_ORDER) {
    const r = rules[rule](ctx);
    findings.push(...r.findings);
    checks.push({ rule, label: RULE_LABELS[rule], evaluated: r.evaluated, ...(r.note ? { note: r.note } : {}) });
  }
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || RULE_ORDER.indexOf(a.rule) - RULE_ORDER.indexOf(b.rule));
  return { findings, checks };
}

class Context {
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

  noMetrics(): RuleResult {
    const first = this.snap.members.find((m) => m.metricsError)?.metricsError;
    return skipped(`No member's /metrics could be read${first ? `: ${first}` : '.'}`);
  }
}

/** Counter increase over points, counting a restart (new start time, or a drop) as a reset to zero. */
function increase(points: ReadonlyArray<{ value?: number; start?: number }>): number {
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
function bucketDelta(current: Buckets, base: Buckets | undefined, restarted: boolean): Buckets {
  if (!base || restarted || base.length !== current.length) return current;
  const delta = current.map((b, i) => ({ le: b.le, count: b.count - base[i].count }));
  return delta.some((b) => b.count < 0) ? current : delta;
}

function total(b: Buckets): number {
  return b.length ? b[b.length - 1].count : 0;
}

const pct = (x: number): string => `${x.toFixed(x < 10 ? 1 : 0)} %`;
const secs = (s: number): string => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
const dur = (ms: number): string => (ms >= 3600_000 ? `${+(ms / 3600_000).toFixed(1)} h` : ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : `${+(ms / 1000).toFixed(1)} s`);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function memberNameById(snap: HealthSnapshot, id: string): string {
  const hex = /^[0-9]+$/.test(id) ? memberHex(id) : id;
  return snap.members.find((m) => m.id === id || (m.id && memberHex(m.id) === hex))?.name ?? hex;
}

function membersDown(c: Context): RuleResult {
  const down = new Map<string, string[]>();
  for (const m of c.snap.members) {
    if (!m.endpoint) down.set(m.name, [`${m.name}: advertises no client URL (added but never started?)`]);
    else if (m.status && !m.status.ok) down.set(m.name, [`${m.name} (${m.endpoint}): ${m.status.error}`]);
  }
  // The mixin also counts a member its peers keep failing to send to, even when this client reaches it.
  const window = c.window(c.t.membersDownWindowMs);
  let peerNote: string | undefined = window.length ? undefined : `Peer send failures need an earlier check within ${dur(c.t.membersDownWindowMs)}.`;
  if (window.length) {
    for (const from of c.scraped) {
      const series = c.series(from, c.t.membersDownWindowMs);
      if (series.length < 2) continue;
      const seconds = (series[series.length - 1].at - series[0].at) / 1000;
      for (const to of Object.keys(from.metrics!.peerSentFailures)) {
        const inc = increase(series.map((p) => ({ value: p.m.peerSentFailures[to], start: p.m.processStartTime })));
        const rate = seconds > 0 ? inc / seconds : 0;
        if (rate > c.t.peerSendFailuresPerSecond) {
          const name = memberNameById(c.snap, to);
          const lines = down.get(name) ?? [];
          lines.push(`${from.name} failed ${inc} sends to ${name} in ${dur(seconds * 1000)} (${rate.toFixed(2)}/s)`);
          down.set(name, lines);
        }
      }
    }
  }
  if (!down.size) return done([], peerNote);
  const n = c.snap.members.length;
  const names = [...down.keys()];
  return done(
    [
      {
        rule: 'membersDown',
        severity: 'critical',
        title: `${down.size} of ${n} members ${down.size === 1 ? 'is' : 'are'} down`,
        member: names.length === 1 ? names[0] : undefined,
        evidence: [...[...down.values()].flat(), `${c.live.length} of ${n} members answered Status`],
        remedy:
          'Check the member process and its log on its host (e.g. `systemctl status etcd`, `journalctl -u etcd`) and that its client and peer ports are reachable, then restart it. ' +
          'If its data is lost, replace it: `etcdctl member remove <id>`, then `etcdctl member add` and start it with an empty data dir and --initial-cluster-state=existing.',
      },
    ],
    peerNote,
  );
}

function insufficientMembers(c: Context): RuleResult {
  if (c.snap.membersSource !== 'memberList') return skipped(`The member list could not be read (${c.snap.membersError ?? 'no answer'}), so the cluster size is unknown.`);
  const voters = c.snap.members.filter((m) => !m.isLearner);
  const up = voters.filter((m) => m.status?.ok).length;
  const quorum = Math.floor(voters.length / 2) + 1;
  if (up >= quorum) return done([]);
  return done([
    {
      rule: 'insufficientMembers',
      severity: 'critical',
      title: `Only ${up} of ${voters.length} voting members are up: quorum needs ${quorum}`,
      evidence: [
        `voting members: ${voters.length}, answering: ${up}, quorum: ${quorum}`,
        ...voters.filter((m) => !m.status?.ok).map((m) => `down: ${m.name}${m.endpoint ? ` (${m.endpoint})` : ''}`),
        'without quorum the cluster accepts no writes and no linearizable reads',
      ],
      remedy:
        `Bring back at least ${quorum - up} of the stopped members (restart them with their data dirs). ` +
        'If they cannot come back, rebuild the cluster from a snapshot of a survivor (`etcdctl snapshot save`, then `etcdctl snapshot restore` on each new member; see etcd disaster recovery).',
    },
  ]);
}

function noLeader(c: Context): RuleResult {
  if (!c.live.length && !c.scraped.length) return skipped('No member answered.');
  const without: string[] = [];
  const leaders = new Set<string>();
  for (const m of c.snap.members) {
    const fromStatus = m.status?.ok ? m.status.leader !== '0' && m.status.leader !== '' : undefined;
    const fromMetrics = m.metrics?.hasLeader === undefined ? undefined : m.metrics.hasLeader === 1;
    if (fromStatus === undefined && fromMetrics === undefined) continue;
    if (fromStatus === false || fromMetrics === false) without.push(m.name);
    else if (m.status?.ok) leaders.add(m.status.leader);
  }
  const findings: Finding[] = [];
  const answered = c.snap.members.filter((m) => m.status?.ok || m.metrics).length;
  if (without.length) {
    findings.push({
      rule: 'noLeader',
      severity: 'critical',
      title: `${without.length} of ${answered} answering members ${without.length === 1 ? 'has' : 'have'} no leader`,
      member: without.length === 1 ? without[0] : undefined,
      evidence: [`without a leader: ${without.join(', ')}`, `members answering: ${answered} of ${c.snap.members.length}`],
      remedy:
        'A member without a leader refuses writes. Make sure a quorum of members runs and can reach each other on the peer port (2380 by default); ' +
        'check the members\' logs for elections ("lost leader", "is starting a new election") and for slow disks.',
    });
  } else if (leaders.size > 1) {
    findings.push({
      rule: 'noLeader',
      severity: 'warning',
      title: `Members disagree on the leader (${leaders.size} different leaders)`,
      evidence: c.live.map((m) => `${m.name} follows ${m.status?.ok ? memberNameById(c.snap, m.status.leader) : '?'}`),
      remedy: 'Usually an election in progress: check again. If it persists, look for a network partition between members.',
    });
  }
  return done(findings);
}

function leaderChanges(c: Context): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  if (!c.window(c.t.leaderChangesWindowMs).length) return skipped(`Needs an earlier check within the last ${dur(c.t.leaderChangesWindowMs)}.`);
  let worst = { inc: 0, name: '', seconds: 0 };
  for (const m of c.scraped) {
    const series = c.series(m, c.t.leaderChangesWindowMs);
    if (series.length < 2) continue;
    const inc = increase(series.map((p) => ({ value: p.m.leaderChanges, start: p.m.processStartTime })));
    if (inc > worst.inc) worst = { inc, name: m.name, seconds: (series[series.length - 1].at - series[0].at) / 1000 };
  }
  if (worst.inc < c.t.leaderChangesMax) return done([], c.metricsNote());
  const terms = termChange(c, c.t.leaderChangesWindowMs);
  return done(
    [
      {
        rule: 'leaderChanges',
        severity: 'warning',
        title: `${worst.inc} leader changes within ${dur(worst.seconds * 1000)}`,
        evidence: [
          `${worst.name} saw ${worst.inc} leader changes in ${dur(worst.seconds * 1000)} (etcd_server_leader_changes_seen_total)`,
          `threshold: ${c.t.leaderChangesMax} within ${dur(c.t.leaderChangesWindowMs)}`,
          ...(terms ? [terms] : []),
        ],
        remedy:
          'Frequent elections: check WAL fsync latency and CPU starvation on the members, and network latency between them. ' +
          'On slow links raise --heartbeat-interval and --election-timeout (election timeout about 10× the round trip).',
      },
    ],
    c.metricsNote(),
  );
}

function termChange(c: Context, ms: number): string | undefined {
  const first = c.window(ms)[0];
  const term = (s: HealthSnapshot) => Math.max(0, ...s.members.map((m) => (m.status?.ok ? Number(m.status.raftTerm) : 0)));
  const before = first ? term(first) : 0;
  const now = term(c.snap);
  return before && now ? `raft term went from ${before} to ${now}` : undefined;
}

function latencyRule(c: Context, rule: 'fsyncSlow' | 'backendCommitSlow', field: 'fsync' | 'backendCommit', what: string, warn: number, crit: number): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  const findings: Finding[] = [];
  for (const m of c.scraped) {
    const current = m.metrics![field];
    if (!current) continue;
    const { buckets, since } = recentBuckets(c, m, (x) => x[field], c.t.latencyWindowMs);
    if (!total(buckets)) continue;
    const p99 = histogramQuantile(0.99, buckets);
    if (!(p99 > warn)) continue;
    findings.push({
      rule,
      severity: p99 > crit ? 'critical' : 'warning',
      title: `p99 ${what} on ${m.name} is ${secs(p99)}`,
      member: m.name,
      evidence: [`p99 ${what} ${secs(p99)} over ${total(buckets)} operations ${since}`, `thresholds: warning > ${secs(warn)}${Number.isFinite(crit) ? `, critical > ${secs(crit)}` : ''}`],
      remedy:
        'The disk is too slow for etcd: give the member a dedicated SSD/NVMe (at least for the WAL: --wal-dir), keep other I/O-heavy work off that disk, ' +
        'and measure it (fio with fdatasync, or `etcdctl check perf`).',
    });
  }
  return done(findings, c.metricsNote());
}

/** The histogram's observations inside the window (since member start when no earlier check is in it). */
function recentBuckets(c: Context, m: MemberSnapshot, pick: (x: MemberMetrics) => Buckets | undefined, ms: number): { buckets: Buckets; since: string } {
  const series = c.series(m, ms);
  const base = series.length > 1 ? series[0] : undefined;
  const current = pick(m.metrics!)!;
  const restarted = base !== undefined && base.m.processStartTime !== m.metrics!.processStartTime;
  const basePick = base ? pick(base.m) : undefined;
  if (!basePick || restarted) return { buckets: current, since: 'since the member started (no earlier check in the window)' };
  return { buckets: bucketDelta(current, basePick, false), since: `in the last ${dur(c.snap.takenAt - base!.at)}` };
}

function peerRoundTripSlow(c: Context): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  const findings: Finding[] = [];
  for (const m of c.scraped) {
    for (const to of Object.keys(m.metrics!.peerRoundTrip)) {
      const { buckets, since } = recentBuckets(c, m, (x) => x.peerRoundTrip[to], c.t.latencyWindowMs);
      if (!total(buckets)) continue;
      const p99 = histogramQuantile(0.99, buckets);
      if (!(p99 > c.t.peerRoundTripWarningSeconds)) continue;
      const peer = memberNameById(c.snap, to);
      findings.push({
        rule: 'peerRoundTripSlow',
        severity: 'warning',
        title: `p99 round trip from ${m.name} to ${peer} is ${secs(p99)}`,
        member: m.name,
        evidence: [`p99 peer round trip ${m.name} → ${peer}: ${secs(p99)} over ${total(buckets)} probes ${since}`, `threshold: ${secs(c.t.peerRoundTripWarningSeconds)}`],
        remedy: 'Check the network between these members (latency, packet loss, bandwidth taken by snapshots or other traffic); members of one cluster belong in one region.',
      });
    }
  }
  return done(findings, c.metricsNote());
}

function grpcFailures(c: Context): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  if (!c.window(c.t.grpcFailuresWindowMs).length) return skipped(`Needs an earlier check within the last ${dur(c.t.grpcFailuresWindowMs)}.`);
  const findings: Finding[] = [];
  for (const m of c.scraped) {
    const series = c.series(m, c.t.grpcFailuresWindowMs);
    if (series.length < 2) continue;
    const seconds = (series[series.length - 1].at - series[0].at) / 1000;
    const bad: Array<{ method: string; failed: number; all: number; share: number }> = [];
    for (const method of Object.keys(m.metrics!.grpcHandled)) {
      const start = (p: { m: MemberMetrics }) => p.m.processStartTime;
      const all = increase(series.map((p) => ({ value: p.m.grpcHandled[method]?.total, start: start(p) })));
      const failed = increase(series.map((p) => ({ value: p.m.grpcHandled[method]?.failed, start: start(p) })));
      if (!all) continue;
      const share = (100 * failed) / all;
      if (share > c.t.grpcFailuresWarningPercent) bad.push({ method, failed, all, share });
    }
    if (!bad.length) continue;
    bad.sort((a, b) => b.share - a.share);
    findings.push({
      rule: 'grpcFailures',
      severity: bad[0].share > c.t.grpcFailuresCriticalPercent ? 'critical' : 'warning',
      title: `${pct(bad[0].share)} of ${bad[0].method} requests failed on ${m.name}`,
      member: m.name,
      evidence: [
        ...bad.map((b) => `${b.method}: ${b.failed} of ${b.all} failed (${pct(b.share)}) in the last ${dur(seconds * 1000)}`),
        `thresholds: warning > ${c.t.grpcFailuresWarningPercent} %, critical > ${c.t.grpcFailuresCriticalPercent} %`,
      ],
      remedy:
        'Look up the failing method in the member\'s log. ResourceExhausted usually means the NOSPACE alarm (free space, then disarm); ' +
        'Unavailable and DeadlineExceeded mean no leader, lost quorum or an overloaded member.',
    });
  }
  return done(findings, c.metricsNote());
}

function proposalsFailed(c: Context): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  if (!c.window(c.t.proposalsFailedWindowMs).length) return skipped(`Needs an earlier check within the last ${dur(c.t.proposalsFailedWindowMs)}.`);
  const findings: Finding[] = [];
  for (const m of c.scraped) {
    const series = c.series(m, c.t.proposalsFailedWindowMs);
    if (series.length < 2) continue;
    const seconds = (series[series.length - 1].at - series[0].at) / 1000;
    const inc = increase(series.map((p) => ({ value: p.m.proposalsFailed, start: p.m.processStartTime })));
    const rate = seconds > 0 ? inc / seconds : 0;
    if (rate <= c.t.proposalsFailedPerSecond) continue;
    findings.push({
      rule: 'proposalsFailed',
      severity: 'warning',
      title: `${rate.toFixed(1)} failed proposals per second on ${m.name}`,
      member: m.name,
      evidence: [`${inc} proposals failed in ${dur(seconds * 1000)} (etcd_server_proposals_failed_total)`, `threshold: ${c.t.proposalsFailedPerSecond}/s`],
      remedy: 'Proposals fail during elections and without quorum: look at leader changes and members down, and at the network between members.',
    });
  }
  return done(findings, c.metricsNote());
}

function quotaLowSpace(c: Context): RuleResult {
  const withQuota = c.scraped.filter((m) => m.metrics!.quotaBytes);
  if (!withQuota.length) return c.scraped.length ? skipped('No member exports etcd_server_quota_backend_bytes.') : c.noMetrics();
  const findings: Finding[] = [];
  for (const m of withQuota) {
    const quota = m.metrics!.quotaBytes!;
    const size = m.metrics!.dbTotalBytes ?? (m.status?.ok ? m.status.dbSize : undefined);
    if (size === undefined) continue;
    const used = (100 * size) / quota;
    if (used <= c.t.quotaWarningPercent) continue;
    findings.push({
      rule: 'quotaLowSpace',
      severity: used > c.t.quotaCriticalPercent ? 'critical' : 'warning',
      title: `Database of ${m.name} uses ${pct(used)} of its quota`,
      member: m.name,
      evidence: [`database size ${formatBytes(size)} of quota ${formatBytes(quota)} (${pct(used)})`, `thresholds: warning > ${c.t.quotaWarningPercent} %, critical > ${c.t.quotaCriticalPercent} %`, 'at 100 % etcd raises NOSPACE and refuses writes'],
      remedy:
        'Compact old revisions (`etcdctl compact <revision>`), then defragment each member (`etcdctl defrag --endpoints=<member>`, one at a time) to return the space; ' +
        'or raise --quota-backend-bytes (8 GiB is the suggested maximum). Turn on --auto-compaction-retention so it does not come back.',
    });
  }
  return done(findings, c.metricsNote());
}

function dbGrowth(c: Context): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  const findings: Finding[] = [];
  let evaluatedAny = false;
  for (const m of c.scraped) {
    const quota = m.metrics!.quotaBytes;
    const points = c.series(m, c.t.dbGrowthWindowMs).filter((p) => p.m.dbTotalBytes !== undefined);
    if (!quota || points.length < 2 || points[points.length - 1].at - points[0].at < c.t.dbGrowthMinSpanMs) continue;
    evaluatedAny = true;
    // predict_linear: least-squares line through the samples, read off `horizon` after now.
    const now = c.snap.takenAt;
    const xs = points.map((p) => (p.at - now) / 1000);
    const ys = points.map((p) => p.m.dbTotalBytes!);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const slope = sxx ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : 0;
    const predicted = my + slope * (c.t.dbGrowthHorizonMs / 1000 - mx);
    if (predicted <= quota) continue;
    findings.push({
      rule: 'dbGrowth',
      severity: 'warning',
      title: `Database of ${m.name} is predicted to reach ${formatBytes(Math.round(predicted))} in ${dur(c.t.dbGrowthHorizonMs)}, above its quota`,
      member: m.name,
      evidence: [
        `now ${formatBytes(ys[ys.length - 1])}, growing ${formatBytes(Math.round(Math.abs(slope) * 3600))}/h${slope < 0 ? ' (shrinking)' : ''} over ${points.length} samples in ${dur(now - points[0].at)}`,
        `quota ${formatBytes(quota)}`,
      ],
      remedy:
        'Find what writes so much (keys rewritten often, large values, leases that never expire); make sure history is compacted (--auto-compaction-retention) ' +
        'and defragment after compaction. Raise --quota-backend-bytes only if the data really needs the room.',
    });
  }
  if (!evaluatedAny) return skipped(`Needs database sizes and the quota from checks spanning at least ${dur(c.t.dbGrowthMinSpanMs)} (within ${dur(c.t.dbGrowthWindowMs)}).`);
  return done(findings, c.metricsNote());
}

function fragmentation(c: Context): RuleResult {
  const findings: Finding[] = [];
  let evaluatedAny = false;
  for (const m of c.snap.members) {
    const status = m.status?.ok ? m.status : undefined;
    const totalBytes = status?.dbSize || m.metrics?.dbTotalBytes;
    const inUse = status?.dbSizeInUse || m.metrics?.dbInUseBytes;
    if (!totalBytes || inUse === undefined) continue;
    evaluatedAny = true;
    const ratio = inUse / totalBytes;
    if (!(ratio < c.t.fragmentationRatio && inUse > c.t.fragmentationMinInUseBytes)) continue;
    findings.push({
      rule: 'fragmentation',
      severity: 'warning',
      title: `Only ${pct(ratio * 100)} of ${m.name}'s database file is in use`,
      member: m.name,
      evidence: [`in use ${formatBytes(inUse)} of ${formatBytes(totalBytes)} allocated (${formatBytes(totalBytes - inUse)} free pages)`, `threshold: in use < ${pct(c.t.fragmentationRatio * 100)} while in use > ${formatBytes(c.t.fragmentationMinInUseBytes)}`],
      remedy: `Defragment the member: \`etcdctl defrag --endpoints=${m.endpoint ?? '<member>'}\`. It blocks that member while it runs: do one member at a time, the leader last.`,
    });
  }
  return evaluatedAny ? done(findings) : skipped('No member reported its database size.');
}

function mixedVersions(c: Context): RuleResult {
  if (!c.live.length) return skipped('No member answered.');
  const byVersion = new Map<string, string[]>();
  for (const m of c.live) if (m.status?.ok) byVersion.set(m.status.version, [...(byVersion.get(m.status.version) ?? []), m.name]);
  const note = c.live.length < c.snap.members.length ? `Versions of ${c.live.length} of ${c.snap.members.length} members (the others did not answer).` : undefined;
  if (byVersion.size <= 1) return done([], note);
  return done(
    [
      {
        rule: 'mixedVersions',
        severity: 'warning',
        title: `Members run ${byVersion.size} different etcd versions`,
        evidence: [...byVersion].map(([v, names]) => `${v}: ${names.join(', ')}`),
        remedy: 'Mixed versions are only meant for the length of a rolling upgrade: finish it (upgrade the remaining members one at a time) or roll back, so that all members run the same version.',
      },
    ],
    note,
  );
}

function appliedIndexLag(c: Context): RuleResult {
  const live = c.live.filter((m) => m.status?.ok && /^\d+$/.test(m.status.raftAppliedIndex));
  if (!live.length) return skipped('No member reported its raft applied index.');
  const applied = (m: MemberSnapshot) => Number(m.status?.ok ? m.status.raftAppliedIndex : 0);
  const committed = (m: MemberSnapshot) => Number(m.status?.ok ? m.status.raftIndex : 0);
  const most = Math.max(...live.map(applied));
  const leader = live.find((m) => applied(m) === most)!;
  const findings: Finding[] = [];
  for (const m of live) {
    const behind = most - applied(m);
    const backlog = committed(m) - applied(m);
    if (behind <= c.t.appliedIndexLagMax && backlog <= c.t.appliedIndexLagMax) continue;
    findings.push({
      rule: 'appliedIndexLag',
      severity: 'warning',
      title: `${m.name} is ${Math.max(behind, backlog)} raft entries behind`,
      member: m.name,
      evidence: [
        `applied index ${applied(m)}, committed ${committed(m)} (backlog ${backlog})`,
        `most advanced: ${leader.name} at ${most} (${behind} ahead)`,
        `threshold: ${c.t.appliedIndexLagMax} entries (etcd refuses requests at a backlog of 5000)`,
      ],
      remedy: 'The member applies entries slower than the cluster commits them: check its disk (fsync, backend commit) and CPU. If it does not catch up, restart it; a member far behind is sent a snapshot by the leader.',
    });
  }
  return done(findings, live.length < c.snap.members.length ? `Compared ${live.length} of ${c.snap.members.length} members.` : undefined);
}

function hashMismatch(c: Context): RuleResult {
  const h = c.snap.hash;
  if (!h) return skipped(c.snap.hashNote ?? 'HashKV was not computed.');
  const ok = h.members.filter((m) => m.hash !== undefined);
  if (ok.length < 2) return skipped(`HashKV at revision ${h.revision} answered by ${ok.length} member(s): ${h.members.filter((m) => m.error).map((m) => `${m.name}: ${m.error}`).join('; ')}`);
  const compacts = new Set(ok.map((m) => m.compactRevision));
  if (compacts.size > 1) return skipped(`Members report different compact revisions (${ok.map((m) => `${m.name}: ${m.compactRevision}`).join(', ')}); hashes are comparable only after every member applied the compaction. Check again.`);
  const groups = new Map<string, string[]>();
  for (const m of ok) groups.set(m.hash!, [...(groups.get(m.hash!) ?? []), m.name]);
  const note = ok.length < c.snap.members.length ? `Compared ${ok.length} of ${c.snap.members.length} members at revision ${h.revision}.` : undefined;
  if (groups.size === 1) return done([], note);
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
  const odd = sorted.length === 2 && sorted[0][1].length > sorted[1][1].length ? sorted[1][1] : undefined;
  return done(
    [
      {
        rule: 'hashMismatch',
        severity: 'critical',
        title: `Members hold different data at revision ${h.revision} (${groups.size} different HashKV values)`,
        member: odd?.length === 1 ? odd[0] : undefined,
        evidence: [...sorted.map(([hash, names]) => `hash ${hash}: ${names.join(', ')}`), `revision ${h.revision}, compact revision ${[...compacts][0]}`],
        remedy:
          'The members\' key-value stores diverged (data corruption). Stop writes, save a snapshot of a member in the majority, then replace the odd member: ' +
          '`etcdctl member remove <id>`, wipe its data dir, `etcdctl member add` and start it again. Run members with --experimental-corrupt-check-time to catch this early.',
      },
    ],
    note,
  );
}

function alarms(c: Context): RuleResult {
  const list = c.snap.alarms;
  if (!list) return skipped(`Could not list alarms: ${c.snap.alarmsError ?? 'no answer'}`);
  return done(
    list.map((a): Finding => {
      const member = memberNameById(c.snap, a.memberId);
      const nospace = /NOSPACE/i.test(a.alarm);
      return {
        rule: 'alarms',
        severity: 'critical',
        title: `${a.alarm.toUpperCase()} alarm raised by ${member}`,
        member,
        evidence: [`alarm ${a.alarm.toUpperCase()} on member ${member} (${memberHex(a.memberId)})`, nospace ? 'the cluster refuses writes until it is disarmed' : 'etcd found its data inconsistent'],
        remedy: nospace
          ? 'Free space, then disarm: delete what is not needed, `etcdctl compact <current revision>`, `etcdctl defrag` on every member, then `etcdctl alarm disarm`. Or raise --quota-backend-bytes and disarm.'
          : 'A member\'s data is corrupt: save a snapshot from a healthy member, replace the corrupt one (member remove, wipe its data dir, member add), then `etcdctl alarm disarm`.',
      };
    }),
  );
}

function largeValues(c: Context): RuleResult {
  const scan = c.snap.largeValues;
  if (!scan) return skipped(c.snap.largeValuesNote ?? 'The value scan did not run.');
  const threshold = c.t.largeValueBytes;
  const covered = `scanned ${scan.scanned} of ${scan.total} keys at revision ${scan.revision}`;
  const note = scan.stoppedBecause ? `Partial: ${covered} (${scan.stoppedBecause}).` : undefined;
  const large = scan.large.filter((v) => v.bytes >= threshold);
  if (!large.length) return done([], note);
  const count = Math.max(large.length, scan.thresholdBytes >= threshold ? scan.largeCount : large.length);
  return done(
    [
      {
        rule: 'largeValues',
        severity: 'warning',
        title: `${plural(count, 'value')} of ${formatBytes(threshold)} or more (largest ${formatBytes(large[0].bytes)})`,
        evidence: [...large.map((v) => `${v.key}: ${formatBytes(v.bytes)}`), `${covered}${count > large.length ? `; the ${large.length} largest shown` : ''}`],
        remedy:
          'etcd is built for small values (requests are limited to 1.5 MiB by default) and keeps every revision until compaction: ' +
          'store large blobs elsewhere (object storage, a file) and keep a reference in etcd, or split them into smaller keys.',
      },
    ],
    note,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown report

/**
 * The report as a Markdown document (title with connection name and time, summary counts, each finding with
 * severity, evidence, remedy, then the member table and the list of checks that could not run). Text from the
 * cluster (member names, keys, errors) is escaped so it cannot inject Markdown, HTML or links.
 */
export function renderHealthReport(report: HealthReport, connectionName: string): string {
  const out: string[] = [];
  const counts = { critical: 0, warning: 0, info: 0 };
  for (const f of report.findings) counts[f.severity]++;
  out.push(`# etcd health: ${escapeMarkdown(connectionName)}`, '');
  out.push(`Checked ${escapeMarkdown(new Date(report.checkedAt).toISOString())} in ${report.durationMs} ms.`, '');
  const evaluated = report.checks.filter((c) => c.evaluated).length;
  out.push(
    report.findings.length
      ? `**${counts.critical} critical, ${counts.warning} warning, ${counts.info} info** — ${evaluated} of ${report.checks.length} checks ran.`
      : `**No findings** — ${evaluated} of ${report.checks.length} checks ran and passed.`,
    '',
  );
  if (report.findings.length) out.push('## Findings', '');
  for (const f of report.findings) {
    out.push(`### ${SEVERITY_LABEL[f.severity]}: ${escapeMarkdown(f.title)}`, '');
    out.push(`Rule: ${escapeMarkdown(RULE_LABELS[f.rule])}${f.member ? ` · Member: ${escapeMarkdown(f.member)}` : ''}`, '');
    for (const e of f.evidence) out.push(`- ${escapeMarkdown(e)}`);
    out.push('', `**What to do:** ${remedyMarkdown(f.remedy)}`, '');
  }
  out.push('## Members', '');
  out.push('| Member | Endpoint | Status | Version | Leader | DB size | In use | Raft index / applied |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const m of report.snapshot.members) {
    const s = m.status;
    const cells = s?.ok
      ? ['up', s.version, s.leader === s.memberId ? 'leader' : s.leader === '0' ? 'none' : memberNameById(report.snapshot, s.leader), formatBytes(s.dbSize), formatBytes(s.dbSizeInUse), `${s.raftIndex} / ${s.raftAppliedIndex}`]
      : [s ? `down: ${s.error}` : 'no client URL', '', '', '', '', ''];
    out.push(`| ${[m.name + (m.isLearner ? ' (learner)' : ''), m.endpoint ?? '', ...cells].map(escapeMarkdown).join(' | ')} |`);
  }
  out.push('');
  const notRun = report.checks.filter((c) => !c.evaluated);
  if (notRun.length) {
    out.push('## Checks that could not run', '');
    for (const c of notRun) out.push(`- ${escapeMarkdown(c.label)}: ${escapeMarkdown(c.note ?? 'not evaluated')}`);
    out.push('');
  }
  const partial = report.checks.filter((c) => c.evaluated && c.note);
  if (partial.length) {
    out.push('## Notes', '');
    for (const c of partial) out.push(`- ${escapeMarkdown(c.label)}: ${escapeMarkdown(c.note!)}`);
    out.push('');
  }
  return out.join('\n');
}

/** A remedy keeps its `commands` as code spans (inert: a code span shows its text literally); the rest is escaped. */
function remedyMarkdown(text: string): string {
  return text
    .split(/(`[^`\r\n]+`)/)
    .map((part) => (/^`[^`]+`$/.test(part) ? part : escapeMarkdown(part)))
    .join('');
}

const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/**
 * Text as inert Markdown: every ASCII punctuation character backslash-escaped (no emphasis, links, headings,
 * table pipes or autolinks), `<`, `>` and `&` as entities (no HTML), line breaks flattened.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[!"#$%'()*+,\-./:;=?@[\\\]^_`{|}~]/g, (c) => `\\${c}`)
    .replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}
