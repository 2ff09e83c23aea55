import { memberHex } from '../cluster';
import { Finding, HealthSnapshot, MemberSnapshot, memberNameById } from './model';
import { RuleContext, RuleResult, done, dur, increase, notes, skipped } from './ruleContext';

/** Health rules about membership, leadership and consistency: who is up, who leads, whether members agree. */

/**
 * Members that do not answer Status now (within the deadline), or advertise no client URL. The mixin also counts
 * a member its peers keep failing to send to; that is here as evidence when the member is down, and as its own
 * finding (peerSendFailures) when it answers now.
 */
export function membersDown(c: RuleContext): RuleResult {
  const down = new Map<string, string[]>();
  for (const m of c.snap.members) {
    if (!m.endpoint) down.set(m.name, [`${m.name}: advertises no client URL (added but never started?)`]);
    else if (m.status && !m.status.ok) down.set(m.name, [`${m.name} (${m.endpoint}): ${m.status.error}`]);
  }
  if (!down.size) return done([]);
  for (const p of peerFailures(c).failures) down.get(p.to.name)?.push(p.line);
  const n = c.snap.members.length;
  const names = [...down.keys()];
  return done([
    {
      rule: 'membersDown',
      severity: 'critical',
      title: `${down.size} of ${n} members ${down.size === 1 ? 'is' : 'are'} down`,
      member: names.length === 1 ? names[0] : undefined,
      subject: 'cluster',
      evidence: [...[...down.values()].flat(), `${c.live.length} of ${n} members answered Status`],
      remedy:
        'Check the member process and its log on its host (e.g. `systemctl status etcd`, `journalctl -u etcd`) and that its client and peer ports are reachable, then restart it. ' +
        'If its data is lost, replace it: `etcdctl member remove <id>`, then `etcdctl member add` and start it with an empty data dir and --initial-cluster-state=existing.',
    },
  ]);
}

interface PeerFailure {
  readonly from: MemberSnapshot;
  readonly to: MemberSnapshot;
  readonly failures: number;
  /** Failures since the previous check. */
  readonly latest: number;
  readonly line: string;
}

/** Peer sends that failed above the mixin's rate over its window (etcd_network_peer_sent_failures_total, label To). */
function peerFailures(c: RuleContext): { failures: PeerFailure[]; short: MemberSnapshot[] } {
  const ms = c.t.membersDownWindowMs;
  const failures: PeerFailure[] = [];
  const short: MemberSnapshot[] = [];
  for (const from of c.scraped) {
    const series = c.series(from, ms);
    if (!series) {
      short.push(from);
      continue;
    }
    for (const toId of Object.keys(from.metrics!.peerSentFailures)) {
      const values = series.points.map((p) => ({ value: p.m.peerSentFailures[toId], start: p.m.processStartTime }));
      const inc = increase(values);
      const rate = series.seconds > 0 ? inc / series.seconds : 0;
      if (!(rate > c.t.peerSendFailuresPerSecond)) continue;
      const to = memberById(c.snap, toId);
      if (!to) continue;
      const latest = increase(values.slice(-2));
      failures.push({
        from,
        to,
        failures: inc,
        latest,
        line: `${from.name} failed ${inc} sends to ${to.name} in the last ${dur(series.seconds * 1000)} (${rate.toFixed(2)}/s)`,
      });
    }
  }
  return { failures, short };
}

function memberById(snap: HealthSnapshot, id: string): MemberSnapshot | undefined {
  const hex = /^[0-9]+$/.test(id) ? memberHex(id) : id;
  return snap.members.find((m) => m.id === id || (m.id && memberHex(m.id) === hex));
}

/**
 * Recently: a member its peers failed to send to over the window, that answers Status now. Not down (it
 * answers), so info: "was unreachable … (recovered)", or, while sends still fail, that it answers clients now.
 */
export function peerSendFailures(c: RuleContext): RuleResult {
  const unavailable = c.rateUnavailable(c.t.membersDownWindowMs);
  if (unavailable) return unavailable;
  const { failures, short } = peerFailures(c);
  const byTarget = new Map<MemberSnapshot, PeerFailure[]>();
  for (const f of failures) if (f.to.status?.ok) byTarget.set(f.to, [...(byTarget.get(f.to) ?? []), f]);
  const findings: Finding[] = [...byTarget].map(([to, list]) => {
    const still = list.some((f) => f.latest > 0);
    const from = list.map((f) => f.from.name).join(', ');
    return {
      rule: 'peerSendFailures',
      severity: 'info',
      title: still
        ? `${from} failed to send to ${to.name} in the last ${dur(c.t.membersDownWindowMs)}; ${to.name} answers Status now`
        : `${to.name} was unreachable from ${from} in the last ${dur(c.t.membersDownWindowMs)} (recovered)`,
      member: to.name,
      evidence: [
        ...list.map((f) => f.line),
        ...list.map((f) => `${f.from.name} → ${to.name}: ${f.latest} failed since the previous check`),
        `${to.name} answered Status now`,
      ],
      remedy: still
        ? `Its clients reach ${to.name} but its peers do not: check the peer port (2380 by default) between the members, firewalls and the peer TLS settings.`
        : 'Nothing to do if it was restarted on purpose; otherwise look in its log for why it stopped.',
    };
  });
  return done(findings, c.shortNote(short, c.t.membersDownWindowMs));
}

export function insufficientMembers(c: RuleContext): RuleResult {
  if (c.snap.membersSource !== 'memberList')
    return skipped(
      `The member list could not be read (${c.snap.membersError ?? 'no answer'}), so the cluster size is unknown.`,
    );
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

export function noLeader(c: RuleContext): RuleResult {
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
      evidence: [
        `without a leader: ${without.join(', ')}`,
        `members answering: ${answered} of ${c.snap.members.length}`,
      ],
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
      remedy:
        'Usually an election in progress: check again. If it persists, look for a network partition between members.',
    });
  }
  return done(findings);
}

export function leaderChanges(c: RuleContext): RuleResult {
  const unavailable = c.rateUnavailable(c.t.leaderChangesWindowMs);
  if (unavailable) return unavailable;
  let worst = { inc: 0, name: '', seconds: 0 };
  const short: MemberSnapshot[] = [];
  for (const m of c.scraped) {
    const series = c.series(m, c.t.leaderChangesWindowMs);
    if (!series) {
      short.push(m);
      continue;
    }
    const inc = increase(series.points.map((p) => ({ value: p.m.leaderChanges, start: p.m.processStartTime })));
    if (inc > worst.inc) worst = { inc, name: m.name, seconds: series.seconds };
  }
  const note = notes(c.metricsNote(), c.shortNote(short, c.t.leaderChangesWindowMs));
  if (worst.inc < c.t.leaderChangesMax) return done([], note);
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
    note,
  );
}

function termChange(c: RuleContext, ms: number): string | undefined {
  const first = c.window(ms)?.[0];
  const term = (s: HealthSnapshot) =>
    Math.max(0, ...s.members.map((m) => (m.status?.ok ? Number(m.status.raftTerm) : 0)));
  const before = first ? term(first) : 0;
  const now = term(c.snap);
  return before && now ? `raft term went from ${before} to ${now}` : undefined;
}

export function mixedVersions(c: RuleContext): RuleResult {
  if (!c.live.length) return skipped('No member answered.');
  const byVersion = new Map<string, string[]>();
  for (const m of c.live)
    if (m.status?.ok) byVersion.set(m.status.version, [...(byVersion.get(m.status.version) ?? []), m.name]);
  const note =
    c.live.length < c.snap.members.length
      ? `Versions of ${c.live.length} of ${c.snap.members.length} members (the others did not answer).`
      : undefined;
  if (byVersion.size <= 1) return done([], note);
  return done(
    [
      {
        rule: 'mixedVersions',
        severity: 'warning',
        title: `Members run ${byVersion.size} different etcd versions`,
        evidence: [...byVersion].map(([v, names]) => `${v}: ${names.join(', ')}`),
        remedy:
          'Mixed versions are only meant for the length of a rolling upgrade: finish it (upgrade the remaining members one at a time) or roll back, so that all members run the same version.',
      },
    ],
    note,
  );
}

export function appliedIndexLag(c: RuleContext): RuleResult {
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
      remedy:
        'The member applies entries slower than the cluster commits them: check its disk (fsync, backend commit) and CPU. If it does not catch up, restart it; a member far behind is sent a snapshot by the leader.',
    });
  }
  return done(
    findings,
    live.length < c.snap.members.length ? `Compared ${live.length} of ${c.snap.members.length} members.` : undefined,
  );
}

export function hashMismatch(c: RuleContext): RuleResult {
  const h = c.snap.hash;
  if (!h) return skipped(c.snap.hashNote ?? 'HashKV was not computed.');
  const ok = h.members.filter((m) => m.hash !== undefined);
  if (ok.length < 2)
    return skipped(
      `HashKV at revision ${h.revision} answered by ${ok.length} member(s): ${h.members
        .filter((m) => m.error)
        .map((m) => `${m.name}: ${m.error}`)
        .join('; ')}`,
    );
  const compacts = new Set(ok.map((m) => m.compactRevision));
  if (compacts.size > 1)
    return skipped(
      `Members report different compact revisions (${ok.map((m) => `${m.name}: ${m.compactRevision}`).join(', ')}); hashes are comparable only after every member applied the compaction. Check again.`,
    );
  const groups = new Map<string, string[]>();
  for (const m of ok) groups.set(m.hash!, [...(groups.get(m.hash!) ?? []), m.name]);
  const note =
    ok.length < c.snap.members.length
      ? `Compared ${ok.length} of ${c.snap.members.length} members at revision ${h.revision}.`
      : undefined;
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
        evidence: [
          ...sorted.map(([hash, names]) => `hash ${hash}: ${names.join(', ')}`),
          `revision ${h.revision}, compact revision ${[...compacts][0]}`,
        ],
        remedy:
          "The members' key-value stores diverged (data corruption). Stop writes, save a snapshot of a member in the majority, then replace the odd member: " +
          '`etcdctl member remove <id>`, wipe its data dir, `etcdctl member add` and start it again. Run members with --experimental-corrupt-check-time to catch this early.',
      },
    ],
    note,
  );
}

export function alarms(c: RuleContext): RuleResult {
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
        evidence: [
          `alarm ${a.alarm.toUpperCase()} on member ${member} (${memberHex(a.memberId)})`,
          nospace ? 'the cluster refuses writes until it is disarmed' : 'etcd found its data inconsistent',
        ],
        remedy: nospace
          ? 'Free space, then disarm: delete what is not needed, `etcdctl compact <current revision>`, `etcdctl defrag` on every member, then `etcdctl alarm disarm`. Or raise --quota-backend-bytes and disarm.'
          : "A member's data is corrupt: save a snapshot from a healthy member, replace the corrupt one (member remove, wipe its data dir, member add), then `etcdctl alarm disarm`.",
      };
    }),
  );
}
