import {
  AlarmInfo,
  MemberClients,
  MemberInfo,
  hashKv,
  listAlarms,
  listMembers,
  memberEndpoints,
  memberHex,
  memberStatuses,
} from '../cluster';
import { EtcdConnection } from '../connection';
import { cancelledError, errorText, isCancellation } from '../errors';
import {
  Buckets,
  DEFAULT_THRESHOLDS,
  HashComparison,
  HealthReport,
  HealthSnapshot,
  HealthThresholds,
  LargeValueScan,
  MemberMetrics,
  MemberSnapshot,
} from './model';
import { AlertTracker } from './alerts';
import { evaluate, sortFindings } from './rules';
import { scanLargeValues } from './valueScan';
import { ScrapeTls, histograms, mergeHistograms, parsePrometheusText, scrapeMetrics } from '../metrics';

/**
 * The health doctor: etcd's official Prometheus alert conditions (etcd-io/etcd contrib/mixin) evaluated over
 * snapshots the doctor takes itself, plus checks Prometheus cannot make (mixed versions, applied-index lag,
 * HashKV across members, alarms, very large values). Its earlier snapshots are the time series: rules over a
 * window judge only once the history covers it, and a condition fires only after it held for the mixin's
 * `for:` (pending until then), as Prometheus would alert.
 */

export interface HealthDoctorOptions {
  /** `forMs` is merged per rule. */
  readonly thresholds?: Partial<Omit<HealthThresholds, 'forMs'>> & {
    readonly forMs?: Partial<HealthThresholds['forMs']>;
  };
  readonly scrapeTls?: ScrapeTls;
  /** Default true. */
  readonly scanLargeValues?: boolean;
}

export interface CheckOptions {
  /**
   * Default true. A light check (false: the periodic ones) skips HashKV and the value scan, which read every
   * member's whole keyspace, and reuses their last results.
   */
  readonly thorough?: boolean;
}

const THOROUGH_ONLY =
  'Runs in checks you start (etcd: Run Health Check), not in the automatic ones: it reads the whole keyspace.';

const FAILED_GRPC_CODES = new Set([
  'Unknown',
  'FailedPrecondition',
  'ResourceExhausted',
  'Internal',
  'Unavailable',
  'DataLoss',
  'DeadlineExceeded',
]);
/** History older than the longest window is dropped; the cap bounds memory for very frequent checks. */
const HISTORY_MAX = 2000;

/** Runs checks against one connection and keeps their snapshots as the history the rate rules need. */
export class HealthDoctor {
  /** The thresholds and `for:` durations in force (the mixin's, with the options' changes). */
  readonly thresholds: HealthThresholds;
  private readonly historyList: HealthSnapshot[] = [];
  private readonly alerts: AlertTracker;

  constructor(
    private readonly conn: EtcdConnection,
    private readonly clients: MemberClients,
    private readonly options: HealthDoctorOptions = {},
  ) {
    this.thresholds = {
      ...DEFAULT_THRESHOLDS,
      ...options.thresholds,
      forMs: { ...DEFAULT_THRESHOLDS.forMs, ...options.thresholds?.forMs },
    };
    this.alerts = new AlertTracker(this.thresholds);
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
  async check(signal?: AbortSignal, options: CheckOptions = {}): Promise<HealthReport> {
    const started = Date.now();
    const snapshot = await this.collect(signal, options.thorough !== false);
    const { findings: holding, checks } = evaluate(snapshot, this.historyList, this.thresholds);
    const { findings, timeline } = this.alerts.update(snapshot.takenAt, holding, checks);
    this.remember(snapshot);
    return {
      checkedAt: started,
      durationMs: Date.now() - started,
      findings: sortFindings(findings),
      checks,
      snapshot,
      timeline,
    };
  }

  private remember(snapshot: HealthSnapshot): void {
    const t = this.thresholds;
    const keepMs = Math.max(
      t.membersDownWindowMs,
      t.leaderChangesWindowMs,
      t.latencyWindowMs,
      t.grpcFailuresWindowMs,
      t.proposalsFailedWindowMs,
      t.dbGrowthWindowMs,
    );
    this.historyList.push(snapshot);
    // Keep the newest snapshot at or before the longest window's start: it is that window's base.
    const list = this.historyList;
    while (list.length > HISTORY_MAX || (list.length > 1 && list[1].takenAt <= snapshot.takenAt - keepMs)) list.shift();
  }

  /**
   * Status goes through clients made for this check and closed after it: "down" must mean the member did not
   * answer now, within the deadline, not that a long-lived client is still backing off from its earlier failures
   * (a circuit breaker pausing the host, a gRPC channel waiting to reconnect) after the member came back.
   */
  private async collect(signal: AbortSignal | undefined, thorough: boolean): Promise<HealthSnapshot> {
    const probes = new MemberClients(this.conn);
    try {
      return await this.collectWith(probes, signal, thorough);
    } finally {
      await probes.dispose().catch(() => undefined);
    }
  }

  private async collectWith(
    probes: MemberClients,
    signal: AbortSignal | undefined,
    thorough: boolean,
  ): Promise<HealthSnapshot> {
    const takenAt = Date.now();
    const timeoutMs = this.conn.timeoutMs;
    const { list, error: membersError } = await this.memberList(signal);
    // Behind a port-forward the advertised URLs are unreachable; reach members through the profile's endpoints.
    const reach = list
      ? await abortable(memberEndpoints(probes, this.conn.profile.endpoints, list), signal)
      : undefined;
    const targets: Array<{ id?: string; name: string; endpoint?: string; isLearner: boolean }> = list
      ? list.map((m) => ({
          id: m.id,
          name: m.name || m.clientUrls[0] || `unstarted ${memberHex(m.id)}`,
          endpoint: reach?.get(m.id),
          isLearner: m.isLearner,
        }))
      : this.conn.profile.endpoints.map((e) => ({ name: e, endpoint: e, isLearner: false }));

    const withEndpoint = targets.filter((t) => t.endpoint).map((t) => t.endpoint!);
    const [statuses, scrapes] = await Promise.all([
      abortable(memberStatuses(probes, withEndpoint), signal),
      Promise.all(
        withEndpoint.map((e) =>
          abortable(scrapeMetrics(e, { timeoutMs, tls: this.options.scrapeTls }), signal).then(
            (text) => ({ metrics: extractMetrics(text) }),
            (err: unknown) => {
              if (isCancellation(err)) throw err;
              return { error: errorText(err) };
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
    // A light check reuses the last HashKV comparison and value scan: both read the whole keyspace.
    const lastHash = [...this.historyList].reverse().find((s) => s.hash);
    const lastScan = [...this.historyList].reverse().find((s) => s.largeValues);
    const [alarms, hash, large] = await Promise.all([
      this.alarms(live, signal),
      thorough
        ? this.compareHashes(live, signal)
        : Promise.resolve(lastHash ? { hash: lastHash.hash } : { note: THOROUGH_ONLY }),
      this.options.scanLargeValues === false
        ? Promise.resolve({ note: 'Turned off in the settings.' } as { scan?: LargeValueScan; note?: string })
        : thorough
          ? this.scanLargeValues(signal)
          : Promise.resolve(lastScan ? { scan: lastScan.largeValues } : { note: THOROUGH_ONLY }),
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
    const conns = [this.conn, ...this.conn.profile.endpoints.map((e) => this.clients.for(e))];
    const { answer, error } = await firstAnswer(conns, (conn) => listMembers(conn, signal), signal);
    return { list: answer, error };
  }

  /** Alarms from the first member that answers (etcd 3.4 serves them through raft, so without quorum none does). */
  private async alarms(
    live: MemberSnapshot[],
    signal?: AbortSignal,
  ): Promise<{ alarms?: AlarmInfo[]; error?: string }> {
    const conns = live.map((m) => this.clients.for(m.endpoint!));
    const { answer, error } = await firstAnswer(conns, listAlarms, signal);
    return { alarms: answer, error };
  }

  /**
   * HashKV of every answering member at one revision all of them have: the smallest of their current revisions.
   * The hash covers revisions above the member's compact revision, so hashes are only comparable between
   * members that report the same compact revision (as etcd's own corruption check requires).
   */
  private async compareHashes(
    live: MemberSnapshot[],
    signal?: AbortSignal,
  ): Promise<{ hash?: HashComparison; note?: string }> {
    if (live.length < 2) return { note: `Needs at least 2 answering members (${live.length} answered).` };
    const revisions = await Promise.all(
      live.map((m) =>
        abortable(
          this.clients
            .for(m.endpoint!)
            .call(
              `read the revision of ${m.name}`,
              (c) => c.kv.range({ key: Buffer.from([0]), count_only: true, serializable: true }),
              signal,
            ),
          signal,
        ).then(
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
    const revision = revisions
      .filter((r): r is bigint => r !== undefined)
      .reduce((a, b) => (b < a ? b : a))
      .toString();
    const results = await Promise.all(
      known.map((m) =>
        abortable(hashKv(this.clients.for(m.endpoint!), revision), signal).then(
          (h) => ({ name: m.name, hash: h.hash, compactRevision: h.compactRevision }),
          (err: unknown) => {
            if (isCancellation(err)) throw err;
            return { name: m.name, error: errorText(err) };
          },
        ),
      ),
    );
    return { hash: { revision, members: results } };
  }

  private async scanLargeValues(signal?: AbortSignal): Promise<{ scan?: LargeValueScan; note?: string }> {
    try {
      return {
        scan: await scanLargeValues(
          this.conn,
          this.thresholds.largeValueBytes,
          this.thresholds.largeValueScanMaxKeys,
          signal,
        ),
      };
    } catch (err) {
      if (isCancellation(err)) throw err;
      return { note: `Could not scan values: ${errorText(err)}` };
    }
  }
}

/** The few series the rules use, from one member's Prometheus text. */
export function extractMetrics(text: string): MemberMetrics {
  const f = parsePrometheusText(text);
  const value = (name: string): number | undefined => f.get(name)?.samples.find((s) => s.name === name)?.value;
  const buckets = (name: string): Buckets | undefined => mergeHistograms(histograms(f.get(name)))?.buckets;
  const peerRoundTrip: Record<string, Buckets> = {};
  for (const h of histograms(f.get('etcd_network_peer_round_trip_time_seconds')))
    peerRoundTrip[h.labels.To ?? '?'] = h.buckets;
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

/**
 * Asks each connection in turn until one answers: a failure moves on to the next (a dead member may come first),
 * cancelling stops at once, and when none answers the first error says why.
 */
async function firstAnswer<T>(
  conns: EtcdConnection[],
  ask: (conn: EtcdConnection) => Promise<T>,
  signal: AbortSignal | undefined,
): Promise<{ answer?: T; error?: string }> {
  let error = '';
  for (const conn of conns) {
    try {
      return { answer: await abortable(ask(conn), signal) };
    } catch (err) {
      if (isCancellation(err)) throw err;
      error ||= errorText(err);
    }
  }
  return { error: error || 'No member answered.' };
}
