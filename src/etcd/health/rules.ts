import {
  alarms,
  appliedIndexLag,
  hashMismatch,
  insufficientMembers,
  leaderChanges,
  membersDown,
  mixedVersions,
  noLeader,
  peerSendFailures,
} from './clusterRules';
import { Finding, HealthSnapshot, HealthThresholds, RULE_LABELS, RuleCheck, RuleId, Severity } from './model';
import {
  dbGrowth,
  fragmentation,
  grpcFailures,
  largeValues,
  latencyRule,
  peerRoundTripSlow,
  proposalsFailed,
  quotaLowSpace,
} from './resourceRules';
import { RuleContext, RuleResult } from './ruleContext';

const RULE_ORDER = Object.keys(RULE_LABELS) as RuleId[];
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/**
 * Pure: the conditions that hold at a snapshot, given the earlier snapshots (unit-testable with synthetic ones).
 * Each finding's severity is the highest whose condition holds now; how long it has held is alerts.ts's part.
 */
export function evaluate(
  snapshot: HealthSnapshot,
  history: readonly HealthSnapshot[],
  thresholds: HealthThresholds,
): { findings: Finding[]; checks: RuleCheck[] } {
  const ctx = new RuleContext(snapshot, history, thresholds);
  const rules: Record<RuleId, (c: RuleContext) => RuleResult> = {
    membersDown,
    insufficientMembers,
    noLeader,
    leaderChanges,
    fsyncSlow: (c) =>
      latencyRule(c, 'fsyncSlow', 'fsync', 'WAL fsync', c.t.fsyncWarningSeconds, c.t.fsyncCriticalSeconds),
    backendCommitSlow: (c) =>
      latencyRule(c, 'backendCommitSlow', 'backendCommit', 'backend commit', c.t.backendCommitWarningSeconds, Infinity),
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
    peerSendFailures,
  };
  const findings: Finding[] = [];
  const checks: RuleCheck[] = [];
  for (const rule of RULE_ORDER) {
    const r = rules[rule](ctx);
    findings.push(...r.findings);
    checks.push({ rule, label: RULE_LABELS[rule], evaluated: r.evaluated, ...(r.note ? { note: r.note } : {}) });
  }
  return { findings: sortFindings(findings), checks };
}

/** Critical, warning, info (pending ones are info), then in rule order. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      RULE_ORDER.indexOf(a.rule) - RULE_ORDER.indexOf(b.rule),
  );
}
