import * as vscode from 'vscode';
import { errorText, isCancellation } from '../etcd/errors';
import { Logger } from '../etcd/logger';
import { showError } from './commandRegistrar';
import { Disposable } from '../util/disposable';
import { webviewHtml } from './webviewHtml';

/** What every panel needs from the extension: where its bundles live and where it logs. */
export interface PanelEnvironment {
  readonly extensionUri: vscode.Uri;
  readonly log: Logger;
  /** Where panels keep a copy of their restorable state (the workspace's), see {@link WebviewPanels}. */
  readonly memento?: vscode.Memento;
}

/** How a kind of panel talks to its webview. */
export interface PanelSpec<FromWebview> {
  /** The webview bundle: dist/webview/<bundle>.js (and <bundle>.css when `stylesheet`). */
  readonly bundle: string;
  readonly stylesheet?: boolean;
  /** Checks a message from the webview (untrusted input); undefined rejects it. */
  readonly parse: (raw: unknown) => FromWebview | undefined;
  /**
   * Message types whose content the panel sends again from {@link WebviewPanelHost.onReady} (snapshots of its
   * state, high-rate streams): while the webview is not ready they are dropped instead of queued.
   */
  readonly resentOnReady: readonly string[];
}

/** Options of every panel: scripts on, resources only from dist/ and media/. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** Panels of one kind whose restorable state the workspace keeps; beyond this the oldest go. */
const REMEMBERED_PANELS = 20;

/** One-shot messages kept for a webview that is not ready yet; beyond this the oldest go. */
const QUEUE_LIMIT = 1000;

/**
 * Base of every webview panel host: renders the webview shell, validates what arrives, queues messages until
 * the webview says `ready` (and again after it was hidden, since a hidden webview is torn down), shows and
 * logs handler failures, and saves files through `workspace.fs`.
 */
export abstract class WebviewPanelHost<
  ToWebview extends { readonly type: string },
  FromWebview extends { readonly type: string },
> extends Disposable {
  private ready = false;
  private releasing = false;
  private rememberHook: ((state: unknown) => void) | undefined;
  private readonly queue: ToWebview[] = [];
  protected readonly log: Logger;

  constructor(
    protected readonly panel: vscode.WebviewPanel,
    env: PanelEnvironment,
    private readonly spec: PanelSpec<FromWebview>,
  ) {
    super();
    this.log = env.log;
    // Set here too: a panel restored after a reload comes without them.
    panel.webview.options = webviewOptions(env.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(env.extensionUri, 'media', 'etcd.svg');
    panel.webview.html = webviewHtml(panel.webview, env.extensionUri, spec.bundle, panel.title, {
      stylesheet: spec.stylesheet,
    });
    this.register(panel.webview.onDidReceiveMessage((raw) => this.receive(raw)));
    this.register(
      panel.onDidChangeViewState(() => {
        if (!panel.visible) {
          this.ready = false;
          this.onHidden();
        }
      }),
    );
    this.register(panel.onDidDispose(() => this.dispose()));
  }

  get title(): string {
    return this.panel.title;
  }

  reveal(): void {
    this.panel.reveal();
  }

  override dispose(): void {
    this.queue.length = 0;
    super.dispose();
    if (!this.releasing) this.panel.dispose();
  }

  /**
   * Stops everything this host runs (streams, timers) but leaves its panel open. For extension shutdown (e.g. a
   * window reload): a panel closed there is gone from the editor layout VS Code saves, so its serializer never
   * gets it back.
   */
  release(): void {
    this.releasing = true;
    this.dispose();
  }

  get isReleased(): boolean {
    return this.releasing;
  }

  /**
   * Keeps `state` as what restores this panel after a reload. The webview keeps it too (`setState`), but VS Code
   * in a browser can restore a panel without it; its {@link WebviewPanels} then uses this copy.
   */
  protected remember(state: unknown): void {
    this.rememberHook?.(state);
  }

  /** Set by {@link WebviewPanels.track}: where {@link remember} keeps the state. */
  onRemember(hook: (state: unknown) => void): void {
    this.rememberHook = hook;
  }

  /** The webview (re)loaded and listens: send it everything it needs to draw the current state. */
  protected abstract onReady(): void;

  /** Handles a validated message other than `ready`. Failures are shown and logged by the host. */
  protected abstract onMessage(message: Exclude<FromWebview, { readonly type: 'ready' }>): Promise<void> | void;

  /** The webview was hidden (and will send `ready` again when shown). */
  protected onHidden(): void {}

  /** Sends now if the webview is ready; otherwise queues it, unless `onReady` resends that kind anyway. */
  protected post(message: ToWebview): void {
    if (this.isDisposed) return;
    if (this.ready) {
      void this.panel.webview.postMessage(message);
      return;
    }
    if (this.spec.resentOnReady.includes(message.type)) return;
    this.queue.push(message);
    if (this.queue.length > QUEUE_LIMIT) this.queue.shift();
  }

  /** Asks where to save, writes through `workspace.fs` (any file system) and says where it went. */
  protected async saveAs(
    dialog: vscode.SaveDialogOptions,
    content: Uint8Array,
    done: (target: vscode.Uri) => string,
  ): Promise<vscode.Uri | undefined> {
    const target = await vscode.window.showSaveDialog(dialog);
    if (!target) return undefined;
    await vscode.workspace.fs.writeFile(target, content);
    void vscode.window.showInformationMessage(done(target));
    return target;
  }

  private receive(raw: unknown): void {
    const message = this.spec.parse(raw);
    if (!message) {
      this.log.warn(
        `[${this.spec.bundle} panel] ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`,
      );
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      this.run('ready', () => this.onReady());
      for (const queued of this.queue.splice(0)) this.post(queued);
      return;
    }
    this.run(message.type, () => this.onMessage(message as Exclude<FromWebview, { readonly type: 'ready' }>));
  }

  /** Runs a handler now (so `ready`'s snapshot goes out before the queue); its failure is logged and shown. */
  private run(type: string, handler: () => Promise<void> | void): void {
    const fail = (err: unknown) => {
      if (isCancellation(err)) return;
      this.log.error(`[${this.spec.bundle} panel] "${type}" failed: ${errorText(err)}`);
      showError(err);
    };
    try {
      void handler()?.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}

/**
 * The open panels of one kind (a view type): creates them with the shared options, brings them back after a
 * reload through a serializer, and disposes them with the extension.
 */
export class WebviewPanels<
  P extends WebviewPanelHost<{ readonly type: string }, { readonly type: string }>,
> extends Disposable {
  private readonly panels = new Set<P>();

  /**
   * `restore` rebuilds a panel from the state its webview kept — or, when VS Code restores a panel without it
   * (seen in browsers after a reload under load), from the copy the panel {@link WebviewPanelHost.remember}ed under
   * its title. Undefined (or a failure) closes it, and says why in the log.
   */
  constructor(
    private readonly viewType: string,
    private readonly env: PanelEnvironment,
    restore: (webviewPanel: vscode.WebviewPanel, state: unknown) => Promise<P | undefined>,
  ) {
    super();
    this.register(
      vscode.window.registerWebviewPanelSerializer(viewType, {
        deserializeWebviewPanel: async (webviewPanel, kept) => {
          const state = kept ?? this.remembered()[webviewPanel.title];
          if (kept === undefined && state !== undefined)
            env.log.info(
              `[${viewType}] "${webviewPanel.title}" came back without its webview state: restored from the workspace's copy`,
            );
          try {
            if (await restore(webviewPanel, state)) return;
            env.log.warn(
              `[${viewType}] "${webviewPanel.title}" could not be restored (no state, or its connection is gone): closed`,
            );
            webviewPanel.dispose();
          } catch (err) {
            webviewPanel.dispose();
            if (isCancellation(err)) return;
            env.log.error(`[${viewType}] restoring a panel failed: ${errorText(err)}`);
            showError(err);
          }
        },
      }),
    );
    // Released, not closed: VS Code restores open panels after a reload through the serializer above.
    this.register({ dispose: () => [...this.panels].forEach((p) => p.release()) });
  }

  private get mementoKey(): string {
    return `webviewPanels.${this.viewType}`;
  }

  /** Restorable state of this kind's panels by title, newest last. */
  private remembered(): Record<string, unknown> {
    return this.env.memento?.get<Record<string, unknown>>(this.mementoKey) ?? {};
  }

  private keep(title: string, state: unknown): void {
    if (!this.env.memento) return;
    const all = { ...this.remembered() };
    delete all[title];
    if (state !== undefined) all[title] = state;
    const titles = Object.keys(all);
    for (const old of titles.slice(0, Math.max(0, titles.length - REMEMBERED_PANELS))) delete all[old];
    void this.env.memento.update(this.mementoKey, all);
  }

  get all(): readonly P[] {
    return [...this.panels];
  }

  /** A new webview panel of this kind in the active column. */
  create(title: string): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(
      this.viewType,
      title,
      vscode.ViewColumn.Active,
      webviewOptions(this.env.extensionUri),
    );
  }

  /** Keeps `panel` until it is disposed; if `start` fails the panel is closed and the failure rethrown. */
  async track(panel: P, start?: (panel: P) => Promise<void>): Promise<P> {
    this.panels.add(panel);
    const title = panel.title;
    panel.onRemember((state) => this.keep(title, state));
    panel.attach({
      dispose: () => {
        this.panels.delete(panel);
        // Closed by the user (not released at shutdown): nothing to restore.
        if (!panel.isReleased) this.keep(title, undefined);
      },
    });
    try {
      await start?.(panel);
    } catch (err) {
      panel.dispose();
      throw err;
    }
    return panel;
  }
}
