import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { Finding, RULE_LABELS, Severity, TimelineEntry, alertText, clock, findingHeading } from '../etcd/health';
import { Disposable } from '../util/disposable';
import { HealthService } from './healthService';

export type HealthNode =
  | { readonly type: 'connection'; readonly profileId: string }
  | { readonly type: 'finding'; readonly profileId: string; readonly finding: Finding; readonly index: number }
  | {
      readonly type: 'detail';
      readonly profileId: string;
      readonly text: string;
      readonly kind: 'evidence' | 'remedy';
      readonly id: string;
    }
  | { readonly type: 'skipped'; readonly profileId: string }
  | { readonly type: 'timeline'; readonly profileId: string }
  | { readonly type: 'message'; readonly profileId: string; readonly text: string };

const SEVERITY_ICON: Record<Severity, vscode.ThemeIcon> = {
  critical: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  warning: new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground')),
  info: new vscode.ThemeIcon('info', new vscode.ThemeColor('editorInfo.foreground')),
};

/** The Health view: per connection, the doctor's findings (severity, title, member), each with its evidence and remedy. */
export class HealthTreeProvider extends Disposable implements vscode.TreeDataProvider<HealthNode> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<HealthNode | undefined>());
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly health: HealthService,
  ) {
    super();
    this.register(manager.onDidChangeProfiles(() => this.changeEmitter.fire(undefined)));
    this.register(health.onDidChange(() => this.changeEmitter.fire(undefined)));
  }

  getTreeItem(node: HealthNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection': {
        const name = this.manager.profile(node.profileId)?.name ?? node.profileId;
        const report = this.health.report(node.profileId);
        const error = this.health.error(node.profileId);
        const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `health/${node.profileId}`;
        item.contextValue = report ? 'etcd.connection.checked' : 'etcd.connection';
        if (error && !report) {
          item.description = 'check failed';
          item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'));
        } else if (!report) {
          item.description = 'not checked yet';
          item.iconPath = new vscode.ThemeIcon('pulse');
          item.collapsibleState = vscode.TreeItemCollapsibleState.None;
        } else {
          const counts = countBySeverity(report.findings);
          const parts = (['critical', 'warning', 'info', 'pending'] as const)
            .filter((s) => counts[s])
            .map((s) => `${counts[s]} ${s}`);
          item.description = `${parts.length ? parts.join(' · ') : 'healthy'} · checked ${new Date(report.checkedAt).toLocaleTimeString()}`;
          item.iconPath = counts.critical
            ? SEVERITY_ICON.critical
            : counts.warning
              ? SEVERITY_ICON.warning
              : new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
        }
        return item;
      }
      case 'finding': {
        const { finding } = node;
        const item = new vscode.TreeItem(finding.title, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `health/${node.profileId}/${finding.rule}/${finding.member ?? ''}/${node.index}`;
        const pending = finding.alert?.state === 'pending';
        // Pending: holds, but not yet for its for: ("critical at 14:12"); firing: since when.
        const state = pending
          ? `pending · ${finding.alert!.firesAs} at ${clock(finding.alert!.firesAt!)}`
          : finding.alert
            ? `since ${clock(finding.alert.since)}`
            : undefined;
        item.description = [finding.member ?? (pending ? undefined : finding.severity), state]
          .filter(Boolean)
          .join(' · ');
        item.iconPath = pending
          ? new vscode.ThemeIcon('watch', new vscode.ThemeColor('editorInfo.foreground'))
          : SEVERITY_ICON[finding.severity];
        // Per rule, so findings offer the maintenance that cures them (compact, defragment, disarm) inline.
        item.contextValue = `etcd.health.finding.${finding.rule}`;
        const tip = new vscode.MarkdownString(undefined, true);
        tip.supportHtml = false;
        tip.appendText(`${findingHeading(finding).toUpperCase()}: ${finding.title}\n${alertText(finding) ?? ''}\n\n`);
        for (const line of finding.evidence) tip.appendText(`• ${line}\n`);
        tip.appendText(`\nWhat to do: ${finding.remedy}`);
        item.tooltip = tip;
        return item;
      }
      case 'detail': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = node.id;
        item.iconPath = new vscode.ThemeIcon(node.kind === 'remedy' ? 'lightbulb' : 'graph');
        item.tooltip = node.text;
        return item;
      }
      case 'skipped': {
        const n = this.health.report(node.profileId)?.checks.filter((c) => !c.evaluated).length ?? 0;
        const item = new vscode.TreeItem(
          `${n} check${n === 1 ? '' : 's'} could not run`,
          vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `health/${node.profileId}/skipped`;
        item.iconPath = new vscode.ThemeIcon('circle-slash');
        return item;
      }
      case 'timeline': {
        const n = this.health.report(node.profileId)?.timeline.length ?? 0;
        const item = new vscode.TreeItem(`Timeline (${n})`, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `health/${node.profileId}/timeline`;
        item.iconPath = new vscode.ThemeIcon('history');
        item.tooltip = 'When each condition started, fired and resolved';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('error');
        item.tooltip = node.text;
        return item;
      }
    }
  }

  getChildren(node?: HealthNode): HealthNode[] {
    if (!node) return this.manager.profiles.map((p) => ({ type: 'connection', profileId: p.id }));
    const { profileId } = node;
    switch (node.type) {
      case 'connection': {
        const report = this.health.report(profileId);
        const error = this.health.error(profileId);
        const out: HealthNode[] = [];
        if (error) out.push({ type: 'message', profileId, text: error });
        if (!report) return out;
        report.findings.forEach((finding, index) => out.push({ type: 'finding', profileId, finding, index }));
        if (!report.findings.length)
          out.push({ type: 'message', profileId, text: 'No findings: every check that ran passed.' });
        if (report.timeline.length) out.push({ type: 'timeline', profileId });
        if (report.checks.some((c) => !c.evaluated)) out.push({ type: 'skipped', profileId });
        return out;
      }
      case 'finding': {
        const base = `health/${profileId}/${node.finding.rule}/${node.finding.member ?? ''}/${node.index}`;
        return [
          ...node.finding.evidence.map((text, i): HealthNode => ({
            type: 'detail',
            profileId,
            text,
            kind: 'evidence',
            id: `${base}/e${i}`,
          })),
          { type: 'detail', profileId, text: node.finding.remedy, kind: 'remedy', id: `${base}/remedy` },
        ];
      }
      case 'skipped':
        return (this.health.report(profileId)?.checks ?? [])
          .filter((c) => !c.evaluated)
          .map((c): HealthNode => ({
            type: 'detail',
            profileId,
            text: `${c.label}: ${c.note ?? 'not evaluated'}`,
            kind: 'evidence',
            id: `health/${profileId}/skipped/${c.rule}`,
          }));
      case 'timeline':
        return (this.health.report(profileId)?.timeline ?? []).map((e): HealthNode => ({
          type: 'detail',
          profileId,
          text: timelineText(e),
          kind: 'evidence',
          id: `health/${profileId}/timeline/${e.key}/${e.startedAt}`,
        }));
      default:
        return [];
    }
  }
}

/** "Members down: 1 of 3 members is down — started 14:02:10, fired 14:12:10 (critical), resolved 14:13:00". */
export function timelineText(e: TimelineEntry): string {
  const fired =
    e.firedAt !== undefined ? `, fired ${clock(e.firedAt)} (${e.severity})` : e.active ? ', pending' : ', never fired';
  const end =
    e.resolvedAt !== undefined
      ? `, resolved ${clock(e.resolvedAt)}`
      : e.active
        ? ', active'
        : `, not checked after ${clock(e.lastSeenAt)}`;
  return `${RULE_LABELS[e.rule]}: ${e.title} — started ${clock(e.startedAt)}${fired}${end}`;
}

/** Counts by severity; pending findings (info until they fire) apart. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity | 'pending', number> {
  const counts: Record<Severity | 'pending', number> = { critical: 0, warning: 0, info: 0, pending: 0 };
  for (const f of findings) counts[f.alert?.state === 'pending' ? 'pending' : f.severity]++;
  return counts;
}
