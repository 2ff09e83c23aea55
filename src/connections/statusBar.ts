import * as vscode from 'vscode';
import { Disposable } from '../util/disposable';
import { ConnectionManager } from './connectionManager';

/** Shows the active connection, its state, and leader/version from the last Status. */
export class ConnectionStatusBar extends Disposable {
  private readonly item = this.register(
    vscode.window.createStatusBarItem('etcd.status', vscode.StatusBarAlignment.Left, 50),
  );

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.item.name = 'etcd Connection';
    this.item.command = 'etcd.connection.pick';
    this.register(manager.onDidChangeConnection(() => this.update()));
    this.register(manager.onDidChangeProfiles(() => this.update()));
    this.update();
  }

  private update(): void {
    const connection = this.manager.active;
    if (!connection) {
      this.item.text = '$(database) etcd: not connected';
      this.item.tooltip = 'Connect to an etcd cluster';
      this.item.backgroundColor = undefined;
      if (this.manager.profiles.length) this.item.show();
      else this.item.hide();
      return;
    }
    const { name } = connection.profile;
    const summary = connection.summary;
    switch (connection.state) {
      case 'connecting':
        this.item.text = `$(loading~spin) etcd: ${name} connecting…`;
        this.item.backgroundColor = undefined;
        break;
      case 'connected':
        this.item.text = `$(database) etcd: ${name}${summary ? ` · v${summary.version} · leader ${summary.leaderName ?? shortId(summary.leaderId)}` : ''}`;
        this.item.backgroundColor = undefined;
        break;
      case 'unreachable':
        this.item.text = `$(debug-disconnect) etcd: ${name} unreachable`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'disconnected':
        this.item.text = `$(database) etcd: ${name} disconnected`;
        this.item.backgroundColor = undefined;
        break;
    }
    const lines = [`${name}: ${connection.state}`, connection.profile.endpoints.join(', ')];
    if (summary)
      lines.push(
        `etcd ${summary.version}, ${summary.memberCount} member(s), leader ${summary.leaderName ?? summary.leaderId}`,
      );
    if (connection.lastError) lines.push(connection.lastError.message);
    this.item.tooltip = lines.join('\n');
    this.item.show();
  }
}

/** Member ids arrive as decimal uint64 strings; etcdctl shows hex. */
export function shortId(decimal: string): string {
  try {
    return BigInt(decimal).toString(16);
  } catch {
    return decimal;
  }
}
