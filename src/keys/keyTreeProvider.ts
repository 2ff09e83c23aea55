import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { EtcdConnection } from '../etcd/connection';
import { isCancellation } from '../etcd/errors';
import { displayKey, keyId } from '../etcd/keyCodec';
import { KeyspaceChild, listChildren } from '../etcd/keyspace';
import { ConnectionProfile } from '../etcd/profile';
import { settings } from '../settings';
import { Disposable } from '../util/disposable';

export type TreeNode =
  | { readonly type: 'connection'; readonly profileId: string }
  | { readonly type: 'folder' | 'key'; readonly profileId: string; readonly key: Buffer; readonly name: Buffer }
  | { readonly type: 'more'; readonly profileId: string; readonly parent: Buffer }
  | { readonly type: 'message'; readonly profileId: string; readonly text: string; readonly error: boolean };

interface Listing {
  children: KeyspaceChild[];
  next?: Buffer;
  revision: string;
}

/**
 * The "etcd" view: saved connections at the root, their keys below (folders by separator). Listings are
 * cached per folder; "Load more…" continues a folder at the same pinned revision.
 */
export class KeyTreeProvider extends Disposable implements vscode.TreeDataProvider<TreeNode> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<TreeNode | undefined>());
  private readonly listings = new Map<string, Listing>();
  private readonly nodes = new Map<string, TreeNode>();

  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(manager.onDidChangeProfiles(() => this.refresh()));
    this.register(
      manager.onDidChangeConnection((connection) => {
        if (connection.state === 'disconnected') this.forget(connection.profile.id);
        this.changeEmitter.fire(this.connectionNode(connection.profile.id));
      }),
    );
    this.register(settings.onDidChange('keys', () => this.refresh()));
  }

  /** Drops every cached listing and redraws. */
  refresh(node?: TreeNode): void {
    if (!node) {
      this.listings.clear();
      this.changeEmitter.fire(undefined);
      return;
    }
    const prefix = node.type === 'connection' ? '' : node.type === 'folder' ? keyId(node.key) : undefined;
    if (prefix === undefined) return;
    for (const k of [...this.listings.keys()]) {
      if (k.startsWith(`${node.profileId}\n${prefix}`)) this.listings.delete(k);
    }
    this.changeEmitter.fire(node.type === 'connection' ? this.connectionNode(node.profileId) : node);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection':
        return this.connectionItem(node.profileId);
      case 'folder': {
        const item = new vscode.TreeItem(displayKey(node.name), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.profileId}/f/${keyId(node.key)}`;
        item.iconPath = vscode.ThemeIcon.Folder;
        item.contextValue = 'etcd.folder';
        item.tooltip = displayKey(node.key);
        return item;
      }
      case 'key': {
        const item = new vscode.TreeItem(displayKey(node.name), vscode.TreeItemCollapsibleState.None);
        item.id = `${node.profileId}/k/${keyId(node.key)}`;
        item.iconPath = new vscode.ThemeIcon('key');
        item.contextValue = 'etcd.key';
        item.tooltip = displayKey(node.key);
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
        item.id = `${node.profileId}/more/${keyId(node.parent)}`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'etcd.keys.loadMore', title: 'Load more', arguments: [node] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
        item.tooltip = node.text;
        if (node.error) {
          item.contextValue = 'etcd.error';
          item.command = { command: 'etcd.connection.connect', title: 'Retry', arguments: [this.connectionNode(node.profileId)] };
        }
        return item;
      }
    }
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return this.manager.profiles.map((p) => this.connectionNode(p.id));
    if (node.type === 'connection') return this.children(node.profileId, Buffer.alloc(0));
    if (node.type === 'folder') return this.children(node.profileId, node.key);
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.type === 'connection' ? undefined : this.connectionNode(node.profileId);
  }

  /** Fetches the next page of a folder and appends it. */
  async loadMore(node: TreeNode): Promise<void> {
    if (node.type !== 'more') return;
    const listing = this.listings.get(this.listingKey(node.profileId, node.parent));
    if (!listing?.next) return;
    const connection = await this.manager.get(node.profileId);
    const page = await listChildren(connection, node.parent, {
      separator: settings.separator(),
      pageSize: settings.pageSize(),
      after: listing.next,
      revision: listing.revision,
    });
    listing.children.push(...page.children);
    listing.next = page.next;
    this.changeEmitter.fire(
      node.parent.length ? this.nodeFor(node.profileId, node.parent, 'folder') : this.connectionNode(node.profileId),
    );
  }

  connectionNode(profileId: string): TreeNode {
    return this.intern(`c\n${profileId}`, () => ({ type: 'connection', profileId }));
  }

  private async children(profileId: string, prefix: Buffer): Promise<TreeNode[]> {
    let connection: EtcdConnection;
    try {
      connection = await this.manager.get(profileId);
      if (prefix.length === 0 && connection.state === 'disconnected') await this.manager.connect(profileId);
      const key = this.listingKey(profileId, prefix);
      let listing = this.listings.get(key);
      if (!listing) {
        const page = await listChildren(connection, prefix, { separator: settings.separator(), pageSize: settings.pageSize() });
        listing = { children: page.children, next: page.next, revision: page.revision };
        this.listings.set(key, listing);
      }
      const nodes = listing.children.map((c) => this.nodeFor(profileId, c.key, c.kind, c.name));
      if (listing.next) nodes.push(this.intern(`m\n${profileId}\n${keyId(prefix)}`, () => ({ type: 'more', profileId, parent: prefix })));
      if (nodes.length === 0 && prefix.length === 0) {
        nodes.push({ type: 'message', profileId, text: 'No keys', error: false });
      }
      return nodes;
    } catch (err) {
      if (isCancellation(err)) return [];
      const text = err instanceof Error ? err.message : String(err);
      return [{ type: 'message', profileId, text, error: true }];
    }
  }

  private nodeFor(profileId: string, key: Buffer, kind: 'key' | 'folder', name?: Buffer): TreeNode {
    return this.intern(`${kind}\n${profileId}\n${keyId(key)}`, () => ({ type: kind, profileId, key, name: name ?? key }));
  }

  /** Same object for the same node, so refreshes and reveal address the element VS Code already holds. */
  private intern(id: string, make: () => TreeNode): TreeNode {
    let node = this.nodes.get(id);
    if (!node) {
      node = make();
      this.nodes.set(id, node);
    }
    return node;
  }

  private listingKey(profileId: string, prefix: Buffer): string {
    return `${profileId}\n${keyId(prefix)}`;
  }

  private forget(profileId: string): void {
    for (const k of [...this.listings.keys()]) if (k.startsWith(`${profileId}\n`)) this.listings.delete(k);
    for (const [k, node] of this.nodes) {
      if (node.profileId === profileId && node.type !== 'connection') this.nodes.delete(k);
    }
  }

  private connectionItem(profileId: string): vscode.TreeItem {
    const profile = this.manager.profile(profileId) as ConnectionProfile;
    const connection = this.manager.existing(profileId);
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
    item.iconPath = new vscode.ThemeIcon(
      state === 'connected' ? 'database' : state === 'unreachable' ? 'debug-disconnect' : state === 'connecting' ? 'loading~spin' : 'circle-outline',
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
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
