import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { showError } from '../util/commands';
import { Disposable } from '../util/disposable';
import { LATENCY_VIEW_TYPE, LatencyPanel } from './latencyPanel';

/** "Show Latency…" from the palette, the connection's context menu and the Cluster view. */
export class LatencyCommands extends Disposable {
  private readonly panels = new Set<LatencyPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly manager: ConnectionManager,
  ) {
    super();
    this.register(vscode.commands.registerCommand('etcd.latency.open', (node?: { profileId?: string }) => this.open(node?.profileId).catch(showError)));
    this.register(
      vscode.window.registerWebviewPanelSerializer(LATENCY_VIEW_TYPE, {
        deserializeWebviewPanel: (webviewPanel, state) => this.restore(webviewPanel, state as { profileId?: string } | undefined),
      }),
    );
    this.register({ dispose: () => [...this.panels].forEach((p) => p.dispose()) });
  }

  get openPanels(): readonly LatencyPanel[] {
    return [...this.panels];
  }

  async open(profileId?: string): Promise<LatencyPanel | undefined> {
    const id = profileId ?? this.manager.active?.profile.id ?? (await this.manager.pickProfile('Show latency of'));
    if (!id) return undefined;
    const existing = [...this.panels].find((p) => p.profileId === id);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const name = this.manager.profile(id)?.name ?? id;
    const webviewPanel = vscode.window.createWebviewPanel(LATENCY_VIEW_TYPE, `Latency · ${name}`, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    });
    return this.start(webviewPanel, id);
  }

  private async start(webviewPanel: vscode.WebviewPanel, profileId: string): Promise<LatencyPanel> {
    const panel = new LatencyPanel(webviewPanel, this.extensionUri, this.manager, profileId);
    this.panels.add(panel);
    panel.attach({ dispose: () => this.panels.delete(panel) });
    try {
      await panel.start();
    } catch (err) {
      panel.dispose();
      throw err;
    }
    return panel;
  }

  /** After a reload: probing starts again for the panel's connection (the graphs start empty). */
  private async restore(webviewPanel: vscode.WebviewPanel, state: { profileId?: string } | undefined): Promise<void> {
    if (!state?.profileId || !this.manager.profile(state.profileId)) {
      webviewPanel.dispose();
      return;
    }
    await this.start(webviewPanel, state.profileId).catch(showError);
  }
}
