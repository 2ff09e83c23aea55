import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { kubernetesOverview, renderKubernetesOverview, type KubernetesOverview } from '../etcd/kubernetes/overview';
import { settings } from '../settings';
import { commandTarget, registerCommand, type CommandTarget } from '../host/commandRegistrar';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ReadOnlyDocuments } from '../util/readOnlyDocuments';
import { KUBERNETES_SCHEME, SNAPSHOT_SCHEME, parseValueUri, valueUri } from '../values/valueUris';

/**
 * Kubernetes commands: from a decoded object's editor, its raw bytes (hex) and the other rendering (YAML ⇄
 * JSON); for a connection, the Kubernetes overview report (objects per resource and namespace, largest
 * objects, encrypted vs plain, events' share) with progress and cancel.
 */
export class KubernetesCommands extends Disposable {
  constructor(
    private readonly manager: ConnectionManager,
    private readonly reports: ReadOnlyDocuments,
  ) {
    super();
    this.register(registerCommand('etcd.kubernetes.showRaw', (uri?: vscode.Uri) => this.showRaw(uri)));
    this.register(registerCommand('etcd.kubernetes.openAsJson', (uri?: vscode.Uri) => this.reopen(uri, 'json')));
    this.register(registerCommand('etcd.kubernetes.openAsYaml', (uri?: vscode.Uri) => this.reopen(uri, 'yaml')));
    this.register(registerCommand('etcd.kubernetes.overview', (target?: CommandTarget) => this.overview(target)));
  }

  private target(uri: vscode.Uri | undefined): vscode.Uri {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target || target.scheme !== KUBERNETES_SCHEME)
      throw new Error('Open a Kubernetes object from the etcd view first.');
    return target;
  }

  /** The stored bytes as a hex dump (the envelope, protobuf or ciphertext exactly as in etcd). */
  async showRaw(uri?: vscode.Uri): Promise<vscode.TextEditor> {
    const { profileId, key } = parseValueUri(this.target(uri));
    const doc = await vscode.workspace.openTextDocument(valueUri({ profileId, key, hex: true }, SNAPSHOT_SCHEME));
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  async reopen(uri: vscode.Uri | undefined, view: 'yaml' | 'json'): Promise<vscode.TextEditor> {
    const address = parseValueUri(this.target(uri));
    const title = address.kubernetes?.title.replace(/\u2215/g, '/') ?? '';
    const doc = await vscode.workspace.openTextDocument(
      valueUri({ profileId: address.profileId, key: address.key, kubernetes: { view, title } }, KUBERNETES_SCHEME),
    );
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  /** Runs the overview with progress (cancellable) and opens it as a Markdown report; returns it for tests. */
  async overview(target?: CommandTarget): Promise<KubernetesOverview | undefined> {
    const id = await commandTarget(this.manager, target, 'Kubernetes overview of which connection?');
    if (!id) return undefined;
    const connection = await this.manager.connected(id);
    const prefix = settings.kubernetesRegistryPrefix() || '/registry/';
    const overview = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Reading Kubernetes objects under ${prefix}`,
        cancellable: true,
      },
      (progress, token) => {
        let reported = 0;
        return kubernetesOverview(connection, prefix, {
          signal: toAbortSignal(token),
          onProgress: (read, total) => {
            const pct = total ? (100 * read) / total : 0;
            progress.report({
              message: `${read.toLocaleString()} of ${total.toLocaleString()} objects`,
              increment: pct - reported,
            });
            reported = pct;
          },
        });
      },
    );
    const name = this.manager.profile(id)?.name ?? id;
    await this.reports.showMarkdown(this.reports.uri(`kubernetes/${id}.md`), renderKubernetesOverview(overview, name));
    return overview;
  }
}
