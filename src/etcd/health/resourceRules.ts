import { Buckets, Finding, MemberMetrics, MemberSnapshot, memberNameById } from './model';
import {
  RuleContext,
  RuleResult,
  Series,
  bucketDelta,
  done,
  dur,
  increase,
  notes,
  pct,
  plural,
  secs,
  skipped,
  total,
} from './ruleContext';
import { histogramQuantile } from '../metrics';
import { formatBytes } from '../values';

/** Health rules about resources: disk and network latency, failing requests, database size and very large values. */

export function latencyRule(
  c: RuleContext,
  rule: 'fsyncSlow' | 'backendCommitSlow',
  field: 'fsync' | 'backendCommit',
  what: string,
  warn: number,
  crit: number,
): RuleResult {
  const ms = c.t.latencyWindowMs;
  const unavailable = c.rateUnavailable(ms);
  if (unavailable) return unavailable;
  const findings: Finding[] = [];
  const judge = new Judged(c, ms, 'operations');
  for (const m of c.scraped) {
    if (!m.metrics![field]) continue;
    const recent = judge.buckets(m, (x) => x[field], m.name);
    if (!recent) continue;
    const p99 = histogramQuantile(0.99, recent.buckets);
    if (!(p99 > warn)) continue;
    findings.push({
      rule,
      severity: p99 > crit ? 'critical' : 'warning',
      title: `p99 ${what} on ${m.name} is ${secs(p99)}`,
      member: m.name,
      evidence: [
        `p99 ${what} ${secs(p99)} over ${total(recent.buckets)} operations in the last ${dur(recent.seconds * 1000)}`,
        `thresholds: warning > ${secs(warn)}${Number.isFinite(crit) ? `, critical > ${secs(crit)}` : ''}`,
      ],
      remedy:
        'The disk is too slow for etcd: give the member a dedicated SSD/NVMe (at least for the WAL: --wal-dir), keep other I/O-heavy work off that disk, ' +
        'and measure it (fio with fdatasync, or `etcdctl check perf`).',
    });
  }
  return done(findings, judge.note());
}

/** Window bookkeeping shared by the windowed rules: what was judged, and what was not and why (for the note). */
class Judged {
  private readonly short: MemberSnapshot[] = [];
  private readonly few: string[] = [];

  constructor(
    private readonly c: RuleContext,
    private readonly ms: number,
    private readonly unit: string,
  ) {}

  series(m: MemberSnapshot): Series | undefined {
    const series = this.c.series(m, this.ms);
    if (!series) this.short.push(m);
    return series;
  }

  /** The histogram's observations inside the window; undefined (and noted) when too few to judge a p99. */
  buckets(
    m: MemberSnapshot,
    pick: (x: MemberMetrics) => Buckets | undefined,
    label: string,
  ): { buckets: Buckets; seconds: number } | undefined {
    const series = this.series(m);
    if (!series) return undefined;
    const base = series.points[0];
    const current = pick(m.metrics!);
    if (!current) return undefined;
    const restarted = base.m.processStartTime !== m.metrics!.processStartTime;
    // After a restart every observation counted is from after it, so inside the window.
    const buckets = bucketDelta(current, pick(base.m), restarted);
    const n = total(buckets);
    if (n && n < this.c.t.latencyMinObservations) this.tooFew(`${label}: ${plural(n, this.unit.replace(/s$/, ''))}`);
    return n >= this.c.t.latencyMinObservations ? { buckets, seconds: series.seconds } : undefined;
  }

  tooFew(what: string): void {
    this.few.push(what);
  }

  note(): string | undefined {
    const few = this.few.length
      ? `Too few ${this.unit} to judge in the last ${dur(this.ms)}: ${this.few.join('; ')}.`
      : undefined;
    return notes(this.c.metricsNote(), this.c.shortNote(this.short, this.ms), few);
  }
}

export function peerRoundTripSlow(c: RuleContext): RuleResult {
  const ms = c.t.latencyWindowMs;
  const unavailable = c.rateUnavailable(ms);
  if (unavailable) return unavailable;
  const findings: Finding[] = [];
  const judge = new Judged(c, ms, 'probes');
  for (const m of c.scraped) {
    for (const to of Object.keys(m.metrics!.peerRoundTrip)) {
      const peer = memberNameById(c.snap, to);
      const recent = judge.buckets(m, (x) => x.peerRoundTrip[to], `${m.name} → ${peer}`);
      if (!recent) continue;
      const p99 = histogramQuantile(0.99, recent.buckets);
      if (!(p99 > c.t.peerRoundTripWarningSeconds)) continue;
      findings.push({
        rule: 'peerRoundTripSlow',
        severity: 'warning',
        title: `p99 round trip from ${m.name} to ${peer} is ${secs(p99)}`,
        member: m.name,
        subject: `${m.name}→${peer}`,
        evidence: [
          `p99 peer round trip ${m.name} → ${peer}: ${secs(p99)} over ${total(recent.buckets)} probes in the last ${dur(recent.seconds * 1000)}`,
          `threshold: ${secs(c.t.peerRoundTripWarningSeconds)}`,
        ],
        remedy:
          'Check the network between these members (latency, packet loss, bandwidth taken by snapshots or other traffic); members of one cluster belong in one region.',
      });
    }
  }
  return done(findings, judge.note());
}

export function grpcFailures(c: RuleContext): RuleResult {
  const ms = c.t.grpcFailuresWindowMs;
  const unavailable = c.rateUnavailable(ms);
  if (unavailable) return unavailable;
  const findings: Finding[] = [];
  const judge = new Judged(c, ms, 'requests');
  for (const m of c.scraped) {
    const series = judge.series(m);
    if (!series) continue;
    const bad: Array<{ method: string; failed: number; all: number; share: number }> = [];
    for (const method of Object.keys(m.metrics!.grpcHandled)) {
      const start = (p: { m: MemberMetrics }) => p.m.processStartTime;
      const all = increase(series.points.map((p) => ({ value: p.m.grpcHandled[method]?.total, start: start(p) })));
      const failed = increase(series.points.map((p) => ({ value: p.m.grpcHandled[method]?.failed, start: start(p) })));
      if (!failed) continue;
      // A share of a handful of requests is noise: one failed Alarm request of one is not "100 % failing".
      if (all < c.t.grpcFailuresMinRequests) {
        judge.tooFew(
          `${method} on ${m.name}: ${failed} of ${all} failed (needs ${c.t.grpcFailuresMinRequests} requests)`,
        );
        continue;
      }
      const share = (100 * failed) / all;
      if (share > c.t.grpcFailuresWarningPercent) bad.push({ method, failed, all, share });
    }
    if (!bad.length) continue;
    bad.sort((a, b) => b.share - a.share);
    findings.push({
      rule: 'grpcFailures',
      severity: bad[0].share > c.t.grpcFailuresCriticalPercent ? 'critical' : 'warning',
      title: `${share(bad[0].share)} of ${bad[0].method} requests failed on ${m.name}`,
      member: m.name,
      evidence: [
        ...bad.map(
          (b) =>
            `${b.method}: ${b.failed} of ${b.all} failed (${share(b.share)}) in the last ${dur(series.seconds * 1000)}`,
        ),
        `thresholds: warning > ${c.t.grpcFailuresWarningPercent} %, critical > ${c.t.grpcFailuresCriticalPercent} %, at least ${c.t.grpcFailuresMinRequests} requests`,
      ],
      remedy:
        "Look up the failing method in the member's log. ResourceExhausted usually means the NOSPACE alarm (free space, then disarm); " +
        'Unavailable and DeadlineExceeded mean no leader, lost quorum or an overloaded member.',
    });
  }
  return done(findings, judge.note());
}

/** A failure share with the precision that shows it is above its threshold ("1.03 %", not "1.0 %" for > 1 %). */
const share = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)} %`;

export function proposalsFailed(c: RuleContext): RuleResult {
  const ms = c.t.proposalsFailedWindowMs;
  const unavailable = c.rateUnavailable(ms);
  if (unavailable) return unavailable;
  const findings: Finding[] = [];
  const judge = new Judged(c, ms, 'proposals');
  for (const m of c.scraped) {
    const series = judge.series(m);
    if (!series) continue;
    const inc = increase(series.points.map((p) => ({ value: p.m.proposalsFailed, start: p.m.processStartTime })));
    const rate = series.seconds > 0 ? inc / series.seconds : 0;
    if (rate <= c.t.proposalsFailedPerSecond) continue;
    findings.push({
      rule: 'proposalsFailed',
      severity: 'warning',
      title: `${rate.toFixed(1)} failed proposals per second on ${m.name}`,
      member: m.name,
      evidence: [
        `${inc} proposals failed in the last ${dur(series.seconds * 1000)} (etcd_server_proposals_failed_total)`,
        `threshold: ${c.t.proposalsFailedPerSecond}/s`,
      ],
      remedy:
        'Proposals fail during elections and without quorum: look at leader changes and members down, and at the network between members.',
    });
  }
  return done(findings, judge.note());
}

export function quotaLowSpace(c: RuleContext): RuleResult {
  const withQuota = c.scraped.filter((m) => m.metrics!.quotaBytes);
  if (!withQuota.length)
    return c.scraped.length ? skipped('No member exports etcd_server_quota_backend_bytes.') : c.noMetrics();
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
      evidence: [
        `database size ${formatBytes(size)} of quota ${formatBytes(quota)} (${pct(used)})`,
        `thresholds: warning > ${c.t.quotaWarningPercent} %, critical > ${c.t.quotaCriticalPercent} %`,
        'at 100 % etcd raises NOSPACE and refuses writes',
      ],
      remedy:
        'Compact old revisions (`etcdctl compact <revision>`), then defragment each member (`etcdctl defrag --endpoints=<member>`, one at a time) to return the space; ' +
        'or raise --quota-backend-bytes (8 GiB is the suggested maximum). Turn on --auto-compaction-retention so it does not come back.',
    });
  }
  return done(findings, c.metricsNote());
}

export function dbGrowth(c: RuleContext): RuleResult {
  if (!c.scraped.length) return c.noMetrics();
  const findings: Finding[] = [];
  let evaluatedAny = false;
  for (const m of c.scraped) {
    const quota = m.metrics!.quotaBytes;
    const points = c.samples(m, c.t.dbGrowthWindowMs).filter((p) => p.m.dbTotalBytes !== undefined);
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
  if (!evaluatedAny)
    return skipped(
      `Needs database sizes and the quota from checks spanning at least ${dur(c.t.dbGrowthMinSpanMs)} (within ${dur(c.t.dbGrowthWindowMs)}).`,
    );
  return done(findings, c.metricsNote());
}

export function fragmentation(c: RuleContext): RuleResult {
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
      evidence: [
        `in use ${formatBytes(inUse)} of ${formatBytes(totalBytes)} allocated (${formatBytes(totalBytes - inUse)} free pages)`,
        `threshold: in use < ${pct(c.t.fragmentationRatio * 100)} while in use > ${formatBytes(c.t.fragmentationMinInUseBytes)}`,
      ],
      remedy: `Defragment the member: \`etcdctl defrag --endpoints=${m.endpoint ?? '<member>'}\`. It blocks that member while it runs: do one member at a time, the leader last.`,
    });
  }
  return evaluatedAny ? done(findings) : skipped('No member reported its database size.');
}

export function largeValues(c: RuleContext): RuleResult {
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
        evidence: [
          ...large.map((v) => `${v.key}: ${formatBytes(v.bytes)}`),
          `${covered}${count > large.length ? `; the ${large.length} largest shown` : ''}`,
        ],
        remedy:
          'etcd is built for small values (requests are limited to 1.5 MiB by default) and keeps every revision until compaction: ' +
          'store large blobs elsewhere (object storage, a file) and keep a reference in etcd, or split them into smaller keys.',
      },
    ],
    note,
  );
}
