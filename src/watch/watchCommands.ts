import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { displayKey } from '../etcd/keyCodec';
import { WatchSpec } from '../etcd/watch';
import { PanelEnvironment, WebviewPanels } from '../host/webviewPanelHost';
import { TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { Disposable } from '../util/disposable';
import { WATCH_VIEW_TYPE, WatchPanel, WatchPanelState } from './watchPanel';
import { askWatchSpec } from './watchSpecPrompt';

/** "Watch key / prefix…" from the tree and the palette; panels survive reloads through a serializer. */
export class WatchCommands extends Disposable {
  private readonly panels: WebviewPanels<WatchPanel>;

  constructor(
    private readonly env: PanelEnvironment,
    private readonly manager: ConnectionManager,
  ) {
    super();
    this.panels = this.register(
      new WebviewPanels<WatchPanel>(WATCH_VIEW_TYPE, env, (webviewPanel, state) =>
        this.restore(webviewPanel, state as WatchPanelState | undefined),
      ),
    );
    this.register(registerCommand('etcd.watch.open', (node?: TreeNode) => this.open(node)));
  }

  /** Open panels (tests use this to inspect them). */
  get openPanels(): readonly WatchPanel[] {
    return this.panels.all;
  }

  /** Asks what to watch, then opens a new panel on it. `spec` skips the questions (tests, restore). */
  async open(node?: TreeNode, spec?: WatchSpec): Promise<WatchPanel | undefined> {
    const profileId = await commandTarget(this.manager, node, 'Watch on which connection?');
    if (!profileId) return undefined;
    const chosen = spec ?? (await askWatchSpec(node));
    if (!chosen) return undefined;
    const name = this.manager.profile(profileId)?.name ?? profileId;
    const webviewPanel = this.panels.create(`Watch ${displayKey(chosen.key) || '(all keys)'} · ${name}`);
    return this.panels.track(
      new WatchPanel(webviewPanel, this.env, this.manager, profileId, settings.watchBufferSize()),
      (panel) => panel.addWatch(chosen),
    );
  }

  private async restore(
    webviewPanel: vscode.WebviewPanel,
    state: WatchPanelState | undefined,
  ): Promise<WatchPanel | undefined> {
    if (!state || !this.manager.profile(state.profileId)) return undefined;
    const panel = new WatchPanel(webviewPanel, this.env, this.manager, state.profileId, settings.watchBufferSize());
    return this.panels.track(panel, async () => {
      for (const w of state.watches) {
        // Resume right after the last revision the panel had seen: nothing missed while VS Code was closed.
        const startRevision = w.revision ? String(BigInt(w.revision) + 1n) : undefined;
        await panel.addWatch({ key: Buffer.from(w.keyB64, 'base64'), prefix: w.prefix, startRevision });
      }
    });
  }
}
