import { findingKey } from '../../src/etcd/health/alerts';
import { Finding, HealthReport, HealthThresholds, MemberSnapshot } from '../../src/etcd/health/model';

/**
 * Every way a finding can contradict the evidence it shows or the snapshot it came from (a "down" title while
 * the member answered Status, a ratio over too few requests, a pending finding that is not info…). Used by the
 * unit property test over random histories and by the integration tests on real etcd. Returns the problems.
 */
export function contradictions(report: HealthReport, t: HealthThresholds): string[] {
  const out: string[] = [];
  const snap = report.snapshot;
  const byName = new Map(snap.members.map((m) => [m.name, m]));
  const answers = (m: MemberSnapshot | undefined) => m?.status?.ok === true;
  const live = snap.members.filter(answers);
  const keys = new Set<string>();
  for (const f of report.findings) {
    const say = (problem: string) =>
      out.push(`${f.rule} "${f.title}": ${problem} (evidence: ${f.evidence.join(' | ')})`);
    const key = findingKey(f);
    if (keys.has(key)) say(`two findings with the key ${key}`);
    keys.add(key);
    const a = f.alert;
    if (!a) say('no alert state');
    else if (a.state === 'pending') {
      if (f.severity !== 'info') say(`pending but ${f.severity}`);
      if (!(a.firesAt! > snap.takenAt) || !a.firesAs) say('pending without a future firing time');
    } else if (a.firedAt === undefined || a.firedAt > snap.takenAt || a.since > a.firedAt)
      say('firing with an impossible firing time');
    if (/answers Status now|recovered/.test(f.title) && !answers(byName.get(f.member!)))
      say('says the member answers, but it did not');
    for (const line of f.evidence) {
      const answered = /^(\d+) of (\d+) members answered Status$/.exec(line);
      if (answered && (+answered[1] !== live.length || +answered[2] !== snap.members.length))
        say(`"${line}" but ${live.length} of ${snap.members.length} answered`);
    }
    check(f, say);
  }
  return out;

  function check(f: Finding, say: (problem: string) => void): void {
    switch (f.rule) {
      case 'membersDown': {
        const m = /^(\d+) of (\d+) members (is|are) down$/.exec(f.title);
        const down = snap.members.filter((x) => !answers(x));
        if (!m || +m[1] !== down.length || +m[2] !== snap.members.length)
          say(`${down.length} of ${snap.members.length} did not answer`);
        if (f.member && answers(byName.get(f.member))) say(`names ${f.member} as down, but it answered`);
        for (const x of live)
          if (f.evidence.some((e) => e.startsWith(`${x.name} (`) && !e.includes(' failed ')))
            say(`lists ${x.name} as down, but it answered`);
        break;
      }
      case 'insufficientMembers': {
        const m = /^Only (\d+) of (\d+) voting members are up: quorum needs (\d+)$/.exec(f.title);
        const voters = snap.members.filter((x) => !x.isLearner);
        const up = voters.filter(answers).length;
        if (!m || +m[1] !== up || +m[2] !== voters.length || up >= +m[3])
          say(`${up} of ${voters.length} voters answered`);
        break;
      }
      case 'noLeader': {
        const line = f.evidence.find((e) => e.startsWith('without a leader: '));
        for (const name of line?.slice('without a leader: '.length).split(', ') ?? []) {
          const x = byName.get(name);
          const leaderless =
            (x?.status?.ok && (x.status.leader === '0' || x.status.leader === '')) || x?.metrics?.hasLeader === 0;
          if (!leaderless) say(`says ${name} has no leader, but it reports one`);
        }
        break;
      }
      case 'peerSendFailures': {
        if (f.severity === 'critical' || f.severity === 'warning') say('a member that answers is never more than info');
        if (/recovered/.test(f.title) && f.evidence.some((e) => /: [1-9]\d* failed since the previous check$/.test(e)))
          say('"recovered" while sends failed since the previous check');
        break;
      }
      case 'grpcFailures':
        for (const e of f.evidence) {
          const m = /^\S+: (\d+) of (\d+) failed \(([\d.]+) %\)/.exec(e);
          if (m && (+m[2] < t.grpcFailuresMinRequests || +m[1] > +m[2] || !(+m[3] > t.grpcFailuresWarningPercent)))
            say(`"${e}" is too few requests or no failure share`);
        }
        break;
      case 'fsyncSlow':
      case 'backendCommitSlow':
      case 'peerRoundTripSlow': {
        const m = / over (\d+) (operations|probes) /.exec(f.evidence[0]);
        if (!m || +m[1] < t.latencyMinObservations) say('a p99 over too few observations');
        break;
      }
      case 'alarms':
        if (!snap.alarms?.some((x) => f.title.startsWith(`${x.alarm.toUpperCase()} alarm`)))
          say('no such alarm in the snapshot');
        break;
      case 'mixedVersions': {
        const versions = new Set(live.map((x) => (x.status?.ok ? x.status.version : '')));
        if (versions.size < 2) say('the members that answered run one version');
        break;
      }
      default:
    }
    const perMember = [
      'fsyncSlow',
      'backendCommitSlow',
      'grpcFailures',
      'quotaLowSpace',
      'peerRoundTripSlow',
      'proposalsFailed',
    ];
    if (perMember.includes(f.rule) && f.member && !byName.get(f.member)?.metrics)
      say(`about ${f.member}'s /metrics, which were not read now`);
  }
}
