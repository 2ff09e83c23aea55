import { Finding, HealthReport, RULE_LABELS, Severity, memberNameById } from './model';
import { formatBytes } from '../values';

/**
 * The report as a Markdown document (title with connection name and time, summary counts, each finding with
 * severity or pending state, evidence, remedy, then the member table, the timeline and the checks that could not run). Text from the
 * cluster (member names, keys, errors) is escaped so it cannot inject Markdown, HTML or links.
 */
export function renderHealthReport(report: HealthReport, connectionName: string): string {
  const out: string[] = [];
  const counts = { critical: 0, warning: 0, info: 0 };
  let pending = 0;
  for (const f of report.findings) {
    if (f.alert?.state === 'pending') pending++;
    else counts[f.severity]++;
  }
  out.push(`# etcd health: ${escapeMarkdown(connectionName)}`, '');
  out.push(`Checked ${escapeMarkdown(new Date(report.checkedAt).toISOString())} in ${report.durationMs} ms.`, '');
  const evaluated = report.checks.filter((c) => c.evaluated).length;
  out.push(
    report.findings.length
      ? `**${counts.critical} critical, ${counts.warning} warning, ${counts.info} info, ${pending} pending** — ${evaluated} of ${report.checks.length} checks ran.`
      : `**No findings** — ${evaluated} of ${report.checks.length} checks ran and passed.`,
    '',
  );
  if (report.findings.length) out.push('## Findings', '');
  for (const f of report.findings) {
    out.push(`### ${escapeMarkdown(findingHeading(f))}: ${escapeMarkdown(f.title)}`, '');
    const state = alertText(f);
    out.push(
      `Rule: ${escapeMarkdown(RULE_LABELS[f.rule])}${f.member ? ` · Member: ${escapeMarkdown(f.member)}` : ''}${state ? ` · ${escapeMarkdown(state)}` : ''}`,
      '',
    );
    for (const e of f.evidence) out.push(`- ${escapeMarkdown(e)}`);
    out.push('', `**What to do:** ${remedyMarkdown(f.remedy)}`, '');
  }
  out.push('## Members', '');
  out.push(
    '| Member | Endpoint | Status | Version | Leader | DB size | In use | Raft index / applied |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const m of report.snapshot.members) {
    const s = m.status;
    const cells = s?.ok
      ? [
          'up',
          s.version,
          s.leader === s.memberId ? 'leader' : s.leader === '0' ? 'none' : memberNameById(report.snapshot, s.leader),
          formatBytes(s.dbSize),
          formatBytes(s.dbSizeInUse),
          `${s.raftIndex} / ${s.raftAppliedIndex}`,
        ]
      : [s ? `down: ${s.error}` : 'no client URL', '', '', '', '', ''];
    out.push(
      `| ${[m.name + (m.isLearner ? ' (learner)' : ''), m.endpoint ?? '', ...cells].map(escapeMarkdown).join(' | ')} |`,
    );
  }
  out.push('');
  if (report.timeline.length) {
    out.push('## Timeline', '', '| Condition | Started | Fired | Resolved |', '| --- | --- | --- | --- |');
    for (const e of report.timeline) {
      const fired = e.firedAt !== undefined ? `${clock(e.firedAt)} (${e.severity})` : e.active ? 'pending' : 'never';
      const resolved =
        e.resolvedAt !== undefined
          ? clock(e.resolvedAt)
          : e.active
            ? 'active'
            : `unknown: not checked after ${clock(e.lastSeenAt)}`;
      out.push(
        `| ${[`${RULE_LABELS[e.rule]}: ${e.title}`, clock(e.startedAt), fired, resolved].map(escapeMarkdown).join(' | ')} |`,
      );
    }
    out.push('');
  }
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

/** "Critical", or "Pending (critical)" while a condition has not yet held for its `for:`. */
export function findingHeading(f: Finding): string {
  return f.alert?.state === 'pending' && f.alert.firesAs ? `Pending (${f.alert.firesAs})` : SEVERITY_LABEL[f.severity];
}

/** "since 14:02:10, fires at 14:12:10" / "since 14:02:10, fired at 14:12:10"; undefined without a state. */
export function alertText(f: Finding): string | undefined {
  const a = f.alert;
  if (!a) return undefined;
  if (a.state === 'pending') return `since ${clock(a.since)}, fires at ${clock(a.firesAt!)} if it still holds`;
  return a.firedAt !== undefined && a.firedAt !== a.since
    ? `since ${clock(a.since)}, fired at ${clock(a.firedAt)}`
    : `since ${clock(a.since)}`;
}

/** Local wall-clock time of day, to the second. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

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
