import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { PanelEnvironment, WebviewPanels } from '../host/webviewPanelHost';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { Disposable } from '../util/disposable';
import { LATENCY_VIEW_TYPE, LatencyPanel } from './latencyPanel';

/** "Show Latency…" from the palette, the connection's context menu and the Cluster view. */
export class LatencyCommands extends Disposable {
  private readonly panels: WebviewPanels<LatencyPanel>;

  constructor(
    private readonly env: PanelEnvironment,
    private readonly manager: ConnectionManager,
  ) {
    super();
    this.panels = this.register(
      new WebviewPanels<LatencyPanel>(LATENCY_VIEW_TYPE, env, (webviewPanel, state) =>
        this.restore(webviewPanel, state as { profileId?: string } | undefined),
      ),
    );
    this.register(registerCommand('etcd.latency.open', (node?: { profileId?: string }) => this.open(node?.profileId)));
  }

  get openPanels(): readonly LatencyPanel[] {
    return this.panels.all;
  }

  async open(profileId?: string): Promise<LatencyPanel | undefined> {
    const id = await commandTarget(this.manager, profileId, 'Show latency of');
    if (!id) return undefined;
    const existing = this.panels.all.find((p) => p.profileId === id);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const name = this.manager.profile(id)?.name ?? id;
    return this.start(this.panels.create(`Latency · ${name}`), id);
  }

  private start(webviewPanel: vscode.WebviewPanel, profileId: string): Promise<LatencyPanel> {
    return this.panels.track(new LatencyPanel(webviewPanel, this.env, this.manager, profileId), (panel) =>
      panel.start(),
    );
  }

  /** After a reload: probing starts again for the panel's connection (the graphs start empty). */
  private async restore(
    webviewPanel: vscode.WebviewPanel,
    state: { profileId?: string } | undefined,
  ): Promise<LatencyPanel | undefined> {
    if (!state?.profileId || !this.manager.profile(state.profileId)) return undefined;
    return this.start(webviewPanel, state.profileId);
  }
}
