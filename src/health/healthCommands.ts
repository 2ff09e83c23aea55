import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { renderHealthReport } from '../etcd/health';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ReadOnlyDocuments } from '../util/readOnlyDocuments';
import { HealthService } from './healthService';
import { HealthNode, countBySeverity } from './healthTreeProvider';

/**
 * Health commands: run the doctor (progress, cancellable), open its report as a read-only Markdown document
 * (`etcd-report:` scheme, shown in the Markdown preview), and a status bar warning while findings exist.
 */
export class HealthCommands extends Disposable {
  private readonly statusItem = this.register(
    vscode.window.createStatusBarItem('etcd.health', vscode.StatusBarAlignment.Left, 49),
  );
  private statusShown = false;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly health: HealthService,
    private readonly reports: ReadOnlyDocuments,
  ) {
    super();
    this.statusItem.name = 'etcd Health';
    this.register(registerCommand('etcd.health.check', (node?: HealthNode) => this.check(node?.profileId)));
    this.register(registerCommand('etcd.health.report', (node?: HealthNode) => this.openReport(node?.profileId)));
    this.register(
      health.onDidChange((profileId) => {
        this.reports.set(this.reportUri(profileId), this.renderReport(profileId));
        this.updateStatus();
      }),
    );
    this.register(manager.onDidChangeProfiles(() => this.updateStatus()));
  }

  private renderReport(profileId: string): string {
    const report = this.health.report(profileId);
    const name = this.manager.profile(profileId)?.name ?? profileId;
    if (!report)
      return `# Health of ${name}\n\nNot checked yet${this.health.error(profileId) ? `: ${this.health.error(profileId)}` : ''}.\n`;
    return renderHealthReport(report, name);
  }

  /** Runs the doctor with progress; returns the report (tests use it). */
  async check(profileId?: string) {
    const id = await commandTarget(this.manager, profileId, 'Which connection?');
    if (!id) return undefined;
    const name = this.manager.profile(id)?.name ?? id;
    await this.manager.connected(id);
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Checking the health of ${name}…`, cancellable: true },
      (_progress, token) => this.health.check(id, toAbortSignal(token)),
    );
    const counts = countBySeverity(report.findings);
    const summary = report.findings.length
      ? `${name}: ${counts.critical} critical, ${counts.warning} warning, ${counts.info} info, ${counts.pending} pending finding(s).`
      : `${name}: healthy — every check that ran passed.`;
    void vscode.window.showInformationMessage(summary, 'Open Report').then((pick) => pick && this.openReport(id));
    return report;
  }

  async openReport(profileId?: string): Promise<vscode.Uri | undefined> {
    const id = await commandTarget(this.manager, profileId, 'Which connection?', {
      among: this.health.checked.length ? this.health.checked : undefined,
    });
    if (!id) return undefined;
    if (!this.health.report(id)) await this.check(id);
    return this.reports.showMarkdown(this.reportUri(id), this.renderReport(id));
  }

  /** Warns while any checked connection has critical or warning findings. */
  private updateStatus(): void {
    let critical = 0;
    let warning = 0;
    let worst: string | undefined;
    for (const id of this.health.checked) {
      const counts = countBySeverity(this.health.report(id)?.findings ?? []);
      if (counts.critical || (counts.warning && !critical)) worst = id;
      critical += counts.critical;
      warning += counts.warning;
    }
    if (!critical && !warning) {
      this.statusItem.hide();
      this.statusShown = false;
      return;
    }
    const n = critical + warning;
    this.statusItem.text = `$(${critical ? 'error' : 'warning'}) etcd: ${n} health finding${n === 1 ? '' : 's'}`;
    this.statusItem.backgroundColor = new vscode.ThemeColor(
      critical ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground',
    );
    this.statusItem.tooltip = `${critical} critical, ${warning} warning — click for the report`;
    this.statusItem.command = {
      command: 'etcd.health.report',
      title: 'Open Health Report',
      arguments: [{ type: 'connection', profileId: worst }],
    };
    this.statusItem.show();
    this.statusShown = true;
  }

  reportUri(profileId: string): vscode.Uri {
    return this.reports.uri(`health/etcd-health-${encodeURIComponent(profileId)}.md`);
  }

  /** What the status bar shows (tests read it). */
  get statusText(): string | undefined {
    return this.statusShown ? this.statusItem.text : undefined;
  }
}
