import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';

/** The tree item of a saved connection: state icon, version, flags, and a tooltip with the last error. */
export function connectionTreeItem(manager: ConnectionManager, profileId: string): vscode.TreeItem {
  const profile = manager.profile(profileId);
  const connection = manager.existing(profileId);
  const state = connection?.state ?? 'disconnected';
  const item = new vscode.TreeItem(profile?.name ?? profileId, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `${profileId}/connection`;
  const summary = connection?.summary;
  const tags = [
    state === 'connected' && summary ? `v${summary.version}` : state,
    profile?.readOnly ? 'read-only' : undefined,
    profile?.namespace ? `ns ${profile.namespace}` : undefined,
  ].filter(Boolean);
  item.description = tags.join(' · ');
  const icon = {
    connected: 'database',
    unreachable: 'debug-disconnect',
    connecting: 'loading~spin',
    disconnected: 'circle-outline',
  }[state];
  item.iconPath = new vscode.ThemeIcon(
    icon,
    state === 'unreachable' ? new vscode.ThemeColor('errorForeground') : undefined,
  );
  item.contextValue = state === 'disconnected' ? 'etcd.connection' : 'etcd.connection.open';
  const tooltip = new vscode.MarkdownString(undefined, true);
  tooltip.appendMarkdown(`**${escapeMd(profile?.name ?? profileId)}** — ${state}\n\n`);
  tooltip.appendMarkdown(`Endpoints: ${profile?.endpoints.map(escapeMd).join(', ')}\n\n`);
  if (summary) {
    tooltip.appendMarkdown(
      `etcd ${escapeMd(summary.version)} · ${summary.memberCount} member(s) · leader ${escapeMd(summary.leaderName ?? summary.leaderId)}\n\n`,
    );
  }
  if (connection?.lastError) tooltip.appendMarkdown(`Last error: ${escapeMd(connection.lastError.message)}`);
  item.tooltip = tooltip;
  return item;
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
