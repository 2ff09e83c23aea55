import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { errorText, isCancellation } from '../etcd/errors';
import { FolderCache, type FolderCacheOptions } from '../etcd/folderCache';
import { displayKey, keyId } from '../etcd/keyCodec';
import { getKeyMeta } from '../etcd/keyInfo';
import { KeyMeta, KeyspaceChild } from '../etcd/keyspace';
import { parseRegistryKey } from '../etcd/kubernetes/registry';
import { StoredAs, storedAs } from '../etcd/kubernetes/storedAs';
import type { EtcdConnection } from '../etcd/connection';
import { readValue } from '../etcd/values';
import { settings } from '../settings';
import { staleSinceText } from '../shared/staleness';
import { Disposable } from '../util/disposable';
import { connectionTreeItem } from './connectionTreeItem';
import { decorateKubernetesItem, kubernetesStorageNote } from './kubernetesLabels';

export type TreeNode =
  | { readonly type: 'connection'; readonly profileId: string }
  | {
      readonly type: 'folder' | 'key';
      readonly profileId: string;
      readonly key: Buffer;
      readonly name: Buffer;
      meta?: KeyMeta;
    }
  | { readonly type: 'more'; readonly profileId: string; readonly parent: Buffer }
  | { readonly type: 'message'; readonly profileId: string; readonly text: string; readonly error: boolean };

export type KeyNode = Extract<TreeNode, { type: 'folder' | 'key' }>;

/**
 * The "etcd" view: saved connections at the root, their keys below, folder by folder. Listings come from a
 * per-connection {@link FolderCache} (re-expanding costs no query; small folders stay current through a
 * watch); "Load more…" continues a folder at the same pinned revision. A connection can be filtered to a prefix.
 */
export class KeyTreeProvider extends Disposable implements vscode.TreeDataProvider<TreeNode> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<TreeNode | undefined>());
  private readonly caches = new Map<string, FolderCache>();
  private readonly filters = new Map<string, Buffer>();
  private readonly nodes = new Map<string, TreeNode>();
  /** How registry objects listed in the tree are stored (encrypted or not), by node id. */
  private readonly stored = new Map<string, StoredAs>();

  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(manager.onDidChangeProfiles(() => this.refresh()));
    this.register(
      manager.onDidChangeConnection((connection) => {
        const id = connection.profile.id;
        if (connection.state === 'disconnected' || this.manager.existing(id) !== connection) this.forget(id);
        this.changeEmitter.fire(this.connectionNode(id));
      }),
    );
    // A cache keeps the separator, page size and live limit it was made with: hand every cache the new ones.
    this.register(
      settings.onDidChange('keys', () => {
        for (const cache of this.caches.values()) cache.updateOptions(this.cacheOptions());
        // A node's name is its key after the parent folder, which the separator decides.
        this.forgetNodes();
        this.changeEmitter.fire(undefined);
      }),
    );
    this.register({ dispose: () => [...this.caches.keys()].forEach((id) => this.forget(id)) });
  }

  /** Drops cached listings (of one connection/folder, or all) and redraws. */
  refresh(node?: TreeNode): void {
    if (!node) {
      for (const cache of this.caches.values()) cache.invalidate();
      this.changeEmitter.fire(undefined);
      return;
    }
    const cache = this.caches.get(node.profileId);
    if (node.type === 'connection') cache?.invalidate();
    else if (node.type === 'folder') cache?.invalidate(node.key);
    else return;
    this.changeEmitter.fire(node);
  }

  /** Shows only keys under `prefix` for a connection (undefined clears the filter). */
  setFilter(profileId: string, prefix: Buffer | undefined): void {
    if (prefix && prefix.length) this.filters.set(profileId, prefix);
    else this.filters.delete(profileId);
    void vscode.commands.executeCommand('setContext', 'etcd.filteredConnections', [...this.filters.keys()]);
    this.changeEmitter.fire(this.connectionNode(profileId));
  }

  filter(profileId: string): Buffer | undefined {
    return this.filters.get(profileId);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection': {
        const item = connectionTreeItem(this.manager, node.profileId);
        const filter = this.filters.get(node.profileId);
        if (filter) {
          item.description = `${item.description} · filter ${displayKey(filter)}`;
          item.contextValue += '.filtered';
        }
        const total = this.caches.get(node.profileId)?.peek(filter ?? Buffer.alloc(0))?.totalKeys;
        if (total !== undefined) item.description = `${item.description} · ${total.toLocaleString()} keys`;
        return item;
      }
      case 'folder': {
        const item = new vscode.TreeItem(displayKey(node.name), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `${node.profileId}/f/${keyId(node.key)}`;
        item.iconPath = vscode.ThemeIcon.Folder;
        item.contextValue = 'etcd.folder';
        const listing = this.caches.get(node.profileId)?.peek(node.key);
        if (listing?.totalKeys !== undefined) {
          const freshness = !listing.live
            ? ' · snapshot'
            : listing.staleSince !== undefined
              ? ` · ${staleSinceText(listing.staleSince)}`
              : '';
          item.description = `${listing.totalKeys.toLocaleString()} key${listing.totalKeys === 1 ? '' : 's'}${freshness}`;
        }
        decorateKubernetesItem(item, node.key, 'folder', settings.kubernetesRegistryPrefix());
        return item;
      }
      case 'key': {
        // A key equal to its folder's prefix (e.g. "a/" beside "a/b") has an empty name: say so.
        const label = node.name.length ? displayKey(node.name) : '(empty name)';
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.profileId}/k/${keyId(node.key)}`;
        const leased = node.meta !== undefined && node.meta.lease !== '0';
        item.iconPath = new vscode.ThemeIcon(leased ? 'watch' : 'key');
        const notes = [
          node.name.length ? undefined : displayKey(node.key),
          leased ? `lease ${BigInt(node.meta!.lease).toString(16)}` : undefined,
        ];
        item.description = notes.filter(Boolean).join(' · ') || undefined;
        item.contextValue = leased ? 'etcd.key.leased' : 'etcd.key';
        item.command = { command: 'etcd.key.open', title: 'Open Value', arguments: [node] };
        decorateKubernetesItem(
          item,
          node.key,
          'key',
          settings.kubernetesRegistryPrefix(),
          this.stored.get(storedId(node.profileId, node.key)),
        );
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
          item.command = {
            command: 'etcd.connection.connect',
            title: 'Retry',
            arguments: [this.connectionNode(node.profileId)],
          };
        }
        return item;
      }
    }
  }

  /** Key tooltips: metadata fetched on hover (keys-only), unless the listing already brought it. */
  async resolveTreeItem(
    item: vscode.TreeItem,
    node: TreeNode,
    token: vscode.CancellationToken,
  ): Promise<vscode.TreeItem> {
    if (node.type === 'folder') {
      // Counts learned by the listing (no extra query); the description shows them from the next redraw on.
      const listing = this.caches.get(node.profileId)?.peek(node.key);
      item.tooltip =
        `${displayKey(node.key)}` +
        (listing?.totalKeys !== undefined ? `\n${listing.totalKeys.toLocaleString()} keys below` : '') +
        (listing
          ? `\nlisted at revision ${listing.revision}${listing.live ? ', kept current by a watch' : ' (snapshot; refresh to update)'}` +
            (listing.staleSince !== undefined
              ? `\n${staleSinceText(listing.staleSince)}: its member stopped answering, moving to another`
              : '')
          : '');
      return item;
    }
    if (node.type !== 'key') return item;
    try {
      const connection = await this.manager.get(node.profileId);
      const meta = node.meta ?? (await getKeyMeta(connection, node.key));
      if (token.isCancellationRequested) return item;
      const tip = new vscode.MarkdownString();
      tip.appendCodeblock(displayKey(node.key), 'text');
      if (!meta) tip.appendMarkdown('*deleted*');
      else {
        tip.appendMarkdown(
          `create revision ${meta.createRevision} · mod revision ${meta.modRevision} · version ${meta.version}` +
            (meta.lease !== '0' ? ` · lease ${BigInt(meta.lease).toString(16)} (${meta.lease})` : ' · no lease'),
        );
      }
      const registry = settings.kubernetesRegistryPrefix();
      if (meta && registry && displayKey(node.key).startsWith(registry)) {
        // Under the registry the tooltip is worth one value read: encrypted or not, and how big.
        const record = await readValue(connection, node.key);
        if (record && !token.isCancellationRequested) {
          tip.supportThemeIcons = true;
          tip.appendMarkdown(`\n\n${kubernetesStorageNote(record.value)}`);
        }
      }
      item.tooltip = tip;
    } catch (err) {
      item.tooltip = errorText(err);
    }
    return item;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return this.manager.profiles.map((p) => this.connectionNode(p.id));
    if (node.type === 'connection')
      return this.children(node.profileId, this.filters.get(node.profileId) ?? Buffer.alloc(0));
    if (node.type === 'folder') return this.children(node.profileId, node.key);
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    if (node.type === 'connection') return undefined;
    if (node.type === 'message') return this.connectionNode(node.profileId);
    const parent = node.type === 'more' ? node.parent : this.parentPrefix(node.key, node.type);
    const root = this.filters.get(node.profileId) ?? Buffer.alloc(0);
    return parent.length <= root.length
      ? this.connectionNode(node.profileId)
      : this.nodeForKey(node.profileId, parent, 'folder');
  }

  /** Fetches the next page of a folder and appends it. */
  async loadMore(node: TreeNode): Promise<void> {
    if (node.type !== 'more') return;
    const cache = await this.cache(node.profileId);
    await cache.loadMore(node.parent);
    this.changeEmitter.fire(this.folderOrRoot(node.profileId, node.parent));
  }

  /** The node for a key, for reveal (interned, so VS Code addresses the element it already holds). */
  nodeForKey(profileId: string, key: Buffer, kind: 'key' | 'folder'): KeyNode {
    const parent = this.parentPrefix(key, kind);
    return this.nodeFor(profileId, key, kind, key.subarray(parent.length)) as KeyNode;
  }

  connectionNode(profileId: string): TreeNode {
    return this.intern(`c\n${profileId}`, () => ({ type: 'connection', profileId }));
  }

  private cacheOptions(): FolderCacheOptions {
    return { separator: settings.separator(), pageSize: settings.pageSize(), liveMaxKeys: settings.liveMaxKeys() };
  }

  private async cache(profileId: string): Promise<FolderCache> {
    const connection = await this.manager.get(profileId);
    let cache = this.caches.get(profileId);
    if (!cache) {
      cache = new FolderCache(connection, this.cacheOptions());
      cache.onDidChange((prefix) => this.changeEmitter.fire(this.folderOrRoot(profileId, prefix)));
      this.caches.set(profileId, cache);
    }
    return cache;
  }

  private async children(profileId: string, prefix: Buffer): Promise<TreeNode[]> {
    try {
      const connection = await this.manager.get(profileId);
      const isRoot = prefix.equals(this.filters.get(profileId) ?? Buffer.alloc(0));
      if (isRoot && connection.state !== 'connected') await this.manager.connect(profileId);
      const listing = await (await this.cache(profileId)).list(prefix);
      const nodes: TreeNode[] = listing.children.map((c) => {
        const node = this.nodeFor(profileId, c.key, c.kind, c.name);
        if (node.type === 'key' && c.meta) node.meta = c.meta;
        return node;
      });
      await this.readStorage(connection, profileId, listing.children);
      if (listing.next)
        nodes.push(
          this.intern(`m\n${profileId}\n${keyId(prefix)}`, () => ({ type: 'more', profileId, parent: prefix })),
        );
      if (nodes.length === 0 && isRoot) nodes.push({ type: 'message', profileId, text: 'No keys', error: false });
      return nodes;
    } catch (err) {
      if (isCancellation(err)) return [];
      const text = errorText(err);
      return [{ type: 'message', profileId, text, error: true }];
    }
  }

  /**
   * Registry objects among listed children: how each is stored, read once per value (again when its mod revision
   * changes), so encrypted ones are marked. Only objects under the registry prefix; nothing else reads values.
   */
  private async readStorage(
    connection: EtcdConnection,
    profileId: string,
    children: readonly KeyspaceChild[],
  ): Promise<void> {
    const registry = settings.kubernetesRegistryPrefix();
    if (!registry) return;
    const stale = children.filter(
      (c) =>
        c.kind === 'key' &&
        parseRegistryKey(displayKey(c.key), registry) !== undefined &&
        this.stored.get(storedId(profileId, c.key))?.modRevision !== c.meta?.modRevision,
    );
    if (!stale.length) return;
    try {
      const found = await storedAs(
        connection,
        stale.map((c) => c.key),
      );
      stale.forEach((c, i) => {
        const s = found[i];
        if (s) this.stored.set(storedId(profileId, c.key), s);
        else this.stored.delete(storedId(profileId, c.key));
      });
    } catch {
      // The listing stands without the marks (the connection logged why); the tooltip still reads the value.
    }
  }

  /** Prefix of the folder that lists `key` (everything up to and including its last separator before the end). */
  private parentPrefix(key: Buffer, kind: 'key' | 'folder'): Buffer {
    const sep = Buffer.from(settings.separator(), 'utf8');
    // A folder's own trailing separator is not its parent's; a key ending in the separator lies inside that folder.
    const searchEnd = kind === 'folder' ? key.length - sep.length - 1 : key.length - sep.length;
    const at = searchEnd < 0 ? -1 : key.lastIndexOf(sep, searchEnd);
    return at < 0 ? Buffer.alloc(0) : key.subarray(0, at + sep.length);
  }

  private folderOrRoot(profileId: string, prefix: Buffer): TreeNode {
    const root = this.filters.get(profileId) ?? Buffer.alloc(0);
    return prefix.equals(root) ? this.connectionNode(profileId) : this.nodeForKey(profileId, prefix, 'folder');
  }

  private nodeFor(profileId: string, key: Buffer, kind: 'key' | 'folder', name: Buffer): TreeNode {
    return this.intern(`${kind}\n${profileId}\n${keyId(key)}`, () => ({ type: kind, profileId, key, name }));
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

  private forget(profileId: string): void {
    this.caches.get(profileId)?.dispose();
    this.caches.delete(profileId);
    this.forgetNodes(profileId);
  }

  /** Drops the interned key, folder and "more" nodes (of one connection, or all); connection nodes stay. */
  private forgetNodes(profileId?: string): void {
    for (const [k, node] of this.nodes) {
      if ((!profileId || node.profileId === profileId) && node.type !== 'connection') this.nodes.delete(k);
    }
    for (const id of this.stored.keys()) if (!profileId || id.startsWith(`${profileId}\n`)) this.stored.delete(id);
  }
}

function storedId(profileId: string, key: Buffer): string {
  return `${profileId}\n${keyId(key)}`;
}
