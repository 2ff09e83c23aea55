import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { errorText, isCancellation } from '../etcd/errors';
import { displayKey, keyId } from '../etcd/keyCodec';
import { LeaseInfo, leaseHex, listLeases, remainingTtl } from '../etcd/leases';
import { settings } from '../settings';
import { Disposable } from '../util/disposable';

export type LeaseNode =
  | { readonly type: 'connection'; readonly profileId: string }
  | { readonly type: 'lease'; readonly profileId: string; readonly id: string }
  | { readonly type: 'key'; readonly profileId: string; readonly key: Buffer; readonly name: Buffer }
  | { readonly type: 'message'; readonly profileId: string; readonly text: string };

/**
 * The Leases view: per connection every lease with its hex id, granted and remaining TTL (counted down
 * locally every second, no re-query), number of keys; leases about to expire and leases without keys are
 * flagged; a lease expands to its keys.
 */
export class LeaseTreeProvider extends Disposable implements vscode.TreeDataProvider<LeaseNode> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<LeaseNode | undefined>());
  private readonly leases = new Map<string, LeaseInfo[]>();
  private readonly nodes = new Map<string, LeaseNode>();
  private ticker: NodeJS.Timeout | undefined;
  /** Leases kept alive continuously (id → state text), for the badge. */
  readonly keptAlive = new Map<string, string>();

  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(manager.onDidChangeProfiles(() => this.refresh()));
    this.register(
      manager.onDidChangeConnection((c) => {
        if (c.state === 'disconnected') this.leases.delete(c.profile.id);
        this.changeEmitter.fire(undefined);
      }),
    );
    this.register({ dispose: () => clearInterval(this.ticker) });
  }

  /** Counts down while the view is visible (a redraw of cached data, no query). */
  setVisible(visible: boolean): void {
    clearInterval(this.ticker);
    if (visible) this.ticker = setInterval(() => this.leases.size && this.changeEmitter.fire(undefined), 1000);
  }

  refresh(profileId?: string): void {
    if (profileId) this.leases.delete(profileId);
    else this.leases.clear();
    this.changeEmitter.fire(undefined);
  }

  /** A keep-alive answer: the countdown restarts from the TTL it granted (no query). */
  renewed(profileId: string, id: string, ttl: number, at: number): void {
    const list = this.leases.get(profileId);
    const index = list?.findIndex((l) => l.id === id) ?? -1;
    if (list && index >= 0) list[index] = { ...list[index], ttl, fetchedAt: at };
  }

  lease(profileId: string, id: string): LeaseInfo | undefined {
    return this.leases.get(profileId)?.find((l) => l.id === id);
  }

  /** Cached leases of a connection (loads them on first use). */
  async leasesOf(profileId: string): Promise<LeaseInfo[]> {
    let list = this.leases.get(profileId);
    if (!list) {
      const connection = await this.manager.connected(profileId);
      list = await vscode.window.withProgress({ location: { viewId: 'etcd.leases' }, title: 'Listing leases' }, () =>
        listLeases(connection, { concurrency: 8 }),
      );
      this.leases.set(profileId, list);
    }
    return list;
  }

  getTreeItem(node: LeaseNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection': {
        const item = new vscode.TreeItem(
          this.manager.profile(node.profileId)?.name ?? node.profileId,
          vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `lease-conn/${node.profileId}`;
        item.iconPath = new vscode.ThemeIcon('database');
        const list = this.leases.get(node.profileId);
        if (list) item.description = `${list.length.toLocaleString()} lease${list.length === 1 ? '' : 's'}`;
        item.contextValue = 'etcd.connection';
        return item;
      }
      case 'lease': {
        const lease = this.lease(node.profileId, node.id);
        const hex = leaseHex(node.id);
        const item = new vscode.TreeItem(
          hex,
          lease && lease.keys.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `lease/${node.profileId}/${node.id}`;
        if (!lease) return item;
        const left = remainingTtl(lease);
        const expired = left <= 0;
        const soon = !expired && left <= settings.leaseExpiringSeconds();
        const keys = lease.keys.length + lease.foreignKeys;
        const kept = this.keptAlive.get(node.id);
        item.description = expired
          ? 'expired'
          : `${Math.ceil(left)} s / ${lease.grantedTtl} s · ${keys === 0 ? 'no keys' : `${keys} key${keys === 1 ? '' : 's'}`}${kept ? ` · keep-alive ${kept}` : ''}`;
        item.iconPath = new vscode.ThemeIcon(
          expired ? 'error' : soon ? 'warning' : keys === 0 ? 'circle-slash' : kept ? 'pulse' : 'watch',
          expired
            ? new vscode.ThemeColor('errorForeground')
            : soon
              ? new vscode.ThemeColor('editorWarning.foreground')
              : undefined,
        );
        item.tooltip = `lease ${hex} (decimal ${node.id})\ngranted TTL ${lease.grantedTtl} s, ${expired ? 'expired' : `${left.toFixed(1)} s left`}\n${keys} attached key(s)${soon ? '\nabout to expire' : ''}`;
        item.contextValue = kept ? 'etcd.lease.kept' : 'etcd.lease';
        return item;
      }
      case 'key': {
        const item = new vscode.TreeItem(displayKey(node.name), vscode.TreeItemCollapsibleState.None);
        item.id = `lease-key/${node.profileId}/${keyId(node.key)}`;
        item.iconPath = new vscode.ThemeIcon('key');
        item.command = { command: 'etcd.key.open', title: 'Open Value', arguments: [node] };
        item.contextValue = 'etcd.leaseKey';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon('error');
        return item;
      }
    }
  }

  async getChildren(node?: LeaseNode): Promise<LeaseNode[]> {
    if (!node)
      return this.manager.profiles.map((p) =>
        this.intern(`c/${p.id}`, () => ({ type: 'connection', profileId: p.id })),
      );
    if (node.type === 'connection') {
      try {
        const list = await this.leasesOf(node.profileId);
        return list.map((l) => this.leaseNode(node.profileId, l.id));
      } catch (err) {
        if (isCancellation(err)) return [];
        return [{ type: 'message', profileId: node.profileId, text: errorText(err) }];
      }
    }
    if (node.type === 'lease') {
      const lease = this.lease(node.profileId, node.id);
      return (lease?.keys ?? []).map((key) => ({ type: 'key', profileId: node.profileId, key, name: key }));
    }
    return [];
  }

  getParent(node: LeaseNode): LeaseNode | undefined {
    if (node.type === 'lease')
      return this.intern(`c/${node.profileId}`, () => ({ type: 'connection', profileId: node.profileId }));
    return undefined;
  }

  leaseNode(profileId: string, id: string): LeaseNode {
    return this.intern(`l/${profileId}/${id}`, () => ({ type: 'lease', profileId, id }));
  }

  private intern(id: string, make: () => LeaseNode): LeaseNode {
    let node = this.nodes.get(id);
    if (!node) {
      node = make();
      this.nodes.set(id, node);
    }
    return node;
  }
}
