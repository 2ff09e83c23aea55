import { evaluate } from '../../src/etcd/health/rules';
import {
  Buckets,
  DEFAULT_THRESHOLDS,
  Finding,
  HealthSnapshot,
  HealthThresholds,
  MemberMetrics,
  MemberSnapshot,
  RuleId,
} from '../../src/etcd/health/model';

/** Synthetic snapshots for the doctor's unit tests: members m0, m1, m2 (ids 10, 11, 12 = a, b, c hex). */

export const MiB = 1024 * 1024;
export const T0 = 1_700_000_000_000;

/** Cumulative buckets from per-bucket counts, e.g. {0.1: 90, 0.6: 10} (the rest of the bounds stay flat). */
export function hist(counts: Record<number, number>): Buckets {
  const bounds = [0.001, 0.01, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, Infinity];
  let sum = 0;
  return bounds.map((le) => ({ le, count: (sum += counts[le] ?? 0) }));
}

export function metrics(m: Partial<MemberMetrics> = {}): MemberMetrics {
  return {
    hasLeader: 1,
    leaderChanges: 1,
    proposalsFailed: 0,
    processStartTime: 1000,
    dbTotalBytes: MiB,
    quotaBytes: 2048 * MiB,
    peerRoundTrip: {},
    peerSentFailures: {},
    grpcHandled: {},
    ...m,
  };
}

export interface MemberOpts {
  id?: string;
  up?: boolean;
  noEndpoint?: boolean;
  learner?: boolean;
  version?: string;
  leader?: string;
  dbSize?: number;
  inUse?: number;
  raftIndex?: number;
  applied?: number;
  term?: number;
  metrics?: Partial<MemberMetrics> | null;
}

export const ID: Record<string, string> = { m0: '10', m1: '11', m2: '12' };

export function member(name: string, o: MemberOpts = {}): MemberSnapshot {
  const id = o.id ?? ID[name] ?? '99';
  const endpoint = o.noEndpoint ? undefined : `http://127.0.0.1:${2379 + Number(id)}`;
  return {
    key: id,
    id,
    name,
    endpoint,
    isLearner: o.learner ?? false,
    status: !endpoint
      ? undefined
      : o.up === false
        ? { ok: false, endpoint, error: 'Could not read the status: unreachable' }
        : {
            ok: true,
            endpoint,
            memberId: id,
            version: o.version ?? '3.4.23',
            dbSize: o.dbSize ?? 1 * MiB,
            dbSizeInUse: o.inUse ?? 1 * MiB,
            leader: o.leader ?? '10',
            raftTerm: String(o.term ?? 2),
            raftIndex: String(o.raftIndex ?? o.applied ?? 100),
            raftAppliedIndex: String(o.applied ?? 100),
            errors: [],
            isLearner: o.learner ?? false,
          },
    metrics: o.up === false || o.metrics === null || !endpoint ? undefined : metrics(o.metrics),
  };
}

export function snap(at: number, members: MemberSnapshot[], extra: Partial<HealthSnapshot> = {}): HealthSnapshot {
  return { takenAt: at, members, membersSource: 'memberList', alarms: [], ...extra };
}

export const healthy = (at = T0, m: Partial<Record<string, MemberOpts>> = {}) =>
  snap(
    at,
    ['m0', 'm1', 'm2'].map((n) => member(n, m[n])),
  );

export function run(s: HealthSnapshot, history: HealthSnapshot[] = [], t: Partial<HealthThresholds> = {}) {
  return evaluate(s, history, { ...DEFAULT_THRESHOLDS, ...t });
}
export const find = (r: { findings: Finding[] }, rule: RuleId) => r.findings.filter((f) => f.rule === rule);
export const check = (r: ReturnType<typeof run>, rule: RuleId) => r.checks.find((c) => c.rule === rule)!;
