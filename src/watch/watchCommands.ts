import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { displayKey, parseDisplayKey } from '../etcd/keyCodec';
import { WatchSpec } from '../etcd/watch';
import { TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { showError } from '../util/commands';
import { Disposable } from '../util/disposable';
import { WATCH_VIEW_TYPE, WatchPanel, WatchPanelState } from './watchPanel';

/** "Watch key / prefix…" from the tree and the palette; panels survive reloads through a serializer. */
export class WatchCommands extends Disposable {
  private readonly panels = new Set<WatchPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly manager: ConnectionManager,
  ) {
    super();
    this.register(vscode.commands.registerCommand('etcd.watch.open', (node?: TreeNode) => this.open(node).catch(showError)));
    this.register(vscode.commands.registerCommand('etcd.watch.add', (panel: WatchPanel) => this.addTo(panel).catch(showError)));
    this.register(
      vscode.window.registerWebviewPanelSerializer(WATCH_VIEW_TYPE, {
        deserializeWebviewPanel: async (webviewPanel, state) => this.restore(webviewPanel, state as WatchPanelState | undefined),
      }),
    );
    this.register({ dispose: () => [...this.panels].forEach((p) => p.dispose()) });
  }

  /** Open panels (tests use this to inspect them). */
  get openPanels(): readonly WatchPanel[] {
    return [...this.panels];
  }

  /** Asks what to watch, then opens a new panel on it. `spec` skips the questions (tests, restore). */
  async open(node?: TreeNode, spec?: WatchSpec): Promise<WatchPanel | undefined> {
    const profileId = node?.profileId ?? this.manager.active?.profile.id ?? (await this.manager.pickProfile('Watch on which connection?'));
    if (!profileId) return undefined;
    const chosen = spec ?? (await this.askSpec(node));
    if (!chosen) return undefined;
    const name = this.manager.profile(profileId)?.name ?? profileId;
    const webviewPanel = vscode.window.createWebviewPanel(
      WATCH_VIEW_TYPE,
      `Watch ${displayKey(chosen.key) || '(all keys)'} · ${name}`,
      vscode.ViewColumn.Active,
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')] },
    );
    const panel = this.track(new WatchPanel(webviewPanel, this.extensionUri, this.manager, profileId, settings.watchBufferSize()));
    await panel.addWatch(chosen);
    return panel;
  }

  private async addTo(panel: WatchPanel): Promise<void> {
    const spec = await this.askSpec(undefined);
    if (spec) await panel.addWatch(spec);
  }

  private async restore(webviewPanel: vscode.WebviewPanel, state: WatchPanelState | undefined): Promise<void> {
    if (!state || !this.manager.profile(state.profileId)) {
      webviewPanel.dispose();
      return;
    }
    const panel = this.track(new WatchPanel(webviewPanel, this.extensionUri, this.manager, state.profileId, settings.watchBufferSize()));
    for (const w of state.watches) {
      // Resume right after the last revision the panel had seen: nothing missed while VS Code was closed.
      const startRevision = w.revision ? String(BigInt(w.revision) + 1n) : undefined;
      await panel.addWatch({ key: Buffer.from(w.keyB64, 'base64'), prefix: w.prefix, startRevision, progressIntervalMs: 2000 });
    }
  }

  private track(panel: WatchPanel): WatchPanel {
    this.panels.add(panel);
    panel.attach({ dispose: () => this.panels.delete(panel) });
    return panel;
  }

  private async askSpec(node: TreeNode | undefined): Promise<WatchSpec | undefined> {
    const initial = node && (node.type === 'key' || node.type === 'folder') ? displayKey(node.key) : '';
    const keyText = await vscode.window.showInputBox({
      title: 'Watch key or prefix',
      prompt: 'A key, or a prefix ending in the separator (e.g. /registry/). \\xNN for raw bytes; empty watches every key.',
      value: initial,
      // A multi-step question: a tree refresh or a toast taking focus must not throw the answer away.
      ignoreFocusOut: true,
    });
    if (keyText === undefined) return undefined;
    const key = parseDisplayKey(keyText);
    const mode = await vscode.window.showQuickPick(
      [
        { label: 'Prefix', description: 'every key starting with it', prefix: true },
        { label: 'Exact key', prefix: false },
      ].sort((a) => ((node?.type === 'key') === !a.prefix ? -1 : 1)),
      { title: `Watch ${keyText || '(all keys)'} as…`, ignoreFocusOut: true },
    );
    if (!mode) return undefined;
    const from = await vscode.window.showQuickPick(
      [
        { label: 'From now', revision: undefined as string | undefined },
        { label: 'From a revision… (replay history)', revision: 'ask' },
      ],
      { title: 'Start', ignoreFocusOut: true },
    );
    if (!from) return undefined;
    let startRevision: string | undefined;
    if (from.revision) {
      startRevision = await vscode.window.showInputBox({
        title: 'Replay from revision',
        ignoreFocusOut: true,
        validateInput: (v) => (/^\d+$/.test(v) && v !== '0' ? undefined : 'Enter a revision number.'),
      });
      if (!startRevision) return undefined;
    }
    return { key, prefix: mode.prefix || key.length === 0, startRevision, progressIntervalMs: 2000 };
  }
}
