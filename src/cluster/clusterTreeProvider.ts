import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import {
  AlarmInfo,
  MemberInfo,
  MemberStatus,
  listAlarms,
  listMembers,
  memberEndpoints,
  memberHex,
  memberStatuses,
} from '../etcd/cluster';
import { errorText, isCancellation } from '../etcd/errors';
import { formatBytes } from '../etcd/values';
import { Disposable } from '../util/disposable';

export interface ClusterSnapshot {
  readonly members: MemberInfo[];
  /** The URL each member is reached through, by member id (see memberEndpoints: port-forwards, NAT). */
  readonly endpointOf: Map<string, string>;
  /** By endpoint: each member was asked through its own client. */
  readonly statuses: Map<string, MemberStatus>;
  readonly alarms: AlarmInfo[];
  readonly leaderId?: string;
  readonly at: number;
}

export type ClusterNode =
  | { readonly type: 'connection'; readonly profileId: string }
  | { readonly type: 'member'; readonly profileId: string; readonly memberId: string }
  | { readonly type: 'alarms'; readonly profileId: string }
  | { readonly type: 'alarm'; readonly profileId: string; readonly alarm: AlarmInfo }
  | { readonly type: 'message'; readonly profileId: string; readonly text: string };

/**
 * The Cluster view: members (name, hex id, URLs, learner), each member's own Status (version, db size and in
 * use, leader, raft term/index/applied, errors), alarms. The leader is marked; an unreachable member is shown
 * as such. Refreshed on demand and every 5 s while visible.
 */
export class ClusterTreeProvider extends Disposable implements vscode.TreeDataProvider<ClusterNode> {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<ClusterNode | undefined>());
  private readonly snapshots = new Map<string, ClusterSnapshot>();
  private poller: NodeJS.Timeout | undefined;

  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(manager.onDidChangeProfiles(() => this.refresh()));
    this.register(
      manager.onDidChangeConnection((c) => {
        if (c.state === 'disconnected') this.snapshots.delete(c.profile.id);
        this.changeEmitter.fire(undefined);
      }),
    );
    this.register({ dispose: () => clearInterval(this.poller) });
  }

  setVisible(visible: boolean): void {
    clearInterval(this.poller);
    if (visible) this.poller = setInterval(() => this.snapshots.size && void this.refresh(), 5000);
  }

  /** Re-reads every shown cluster, then redraws (so items render from fresh data, not an empty cache). */
  async refresh(): Promise<void> {
    const shown = [...this.snapshots.keys()];
    this.snapshots.clear();
    await Promise.all(shown.map((id) => this.snapshot(id).catch(() => undefined)));
    this.changeEmitter.fire(undefined);
  }

  async snapshot(profileId: string): Promise<ClusterSnapshot> {
    const cached = this.snapshots.get(profileId);
    if (cached) return cached;
    const connection = await this.manager.connected(profileId);
    const members = await listMembers(connection);
    const clients = await this.manager.memberClients(profileId);
    const endpointOf = await memberEndpoints(clients, connection.profile.endpoints, members);
    const endpoints = [...new Set(endpointOf.values())];
    const [statuses, alarms] = await Promise.all([
      memberStatuses(clients, endpoints),
      listAlarms(connection).catch(() => [] as AlarmInfo[]),
    ]);
    const byUrl = new Map(statuses.map((s) => [s.endpoint, s]));
    const leaderId = statuses.find((s) => s.ok)?.ok
      ? (statuses.find((s) => s.ok) as Extract<MemberStatus, { ok: true }>).leader
      : undefined;
    const snapshot = { members, endpointOf, statuses: byUrl, alarms, leaderId, at: Date.now() };
    this.snapshots.set(profileId, snapshot);
    return snapshot;
  }

  /** The member's status, asked through the URL that reaches it. */
  statusOf(snapshot: ClusterSnapshot, member: MemberInfo): MemberStatus | undefined {
    const endpoint = snapshot.endpointOf.get(member.id);
    return endpoint ? snapshot.statuses.get(endpoint) : undefined;
  }

  getTreeItem(node: ClusterNode): vscode.TreeItem {
    switch (node.type) {
      case 'connection': {
        const item = new vscode.TreeItem(
          this.manager.profile(node.profileId)?.name ?? node.profileId,
          vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `cluster/${node.profileId}`;
        item.iconPath = new vscode.ThemeIcon('server-environment');
        item.contextValue = 'etcd.connection';
        const s = this.snapshots.get(node.profileId);
        if (s) {
          const up = s.members.filter((m) => this.statusOf(s, m)?.ok).length;
          const versions = new Set(
            s.members
              .map((m) => this.statusOf(s, m))
              .filter((x) => x?.ok)
              .map((x) => (x as { version: string }).version),
          );
          item.description = `${up}/${s.members.length} members up${versions.size > 1 ? ` · mixed versions ${[...versions].join(', ')}` : versions.size ? ` · v${[...versions][0]}` : ''}${s.alarms.length ? ` · ${s.alarms.length} alarm(s)` : ''}`;
        }
        return item;
      }
      case 'member': {
        const s = this.snapshots.get(node.profileId);
        const member = s?.members.find((m) => m.id === node.memberId);
        const status = s && member ? this.statusOf(s, member) : undefined;
        const isLeader = s?.leaderId === node.memberId;
        const item = new vscode.TreeItem(
          `${member?.name || '(unstarted)'}${isLeader ? ' ★ leader' : ''}`,
          vscode.TreeItemCollapsibleState.None,
        );
        item.id = `cluster/${node.profileId}/${node.memberId}`;
        if (!status || !status.ok) {
          item.description = `${memberHex(node.memberId)} · unreachable`;
          item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'));
        } else {
          item.description = `${memberHex(node.memberId)} · v${status.version} · db ${formatBytes(status.dbSize)} (in use ${formatBytes(status.dbSizeInUse)}) · term ${status.raftTerm} · index ${status.raftIndex} / applied ${status.raftAppliedIndex}${member?.isLearner ? ' · learner' : ''}`;
          item.iconPath = new vscode.ThemeIcon(
            isLeader ? 'star-full' : 'vm',
            status.errors.length ? new vscode.ThemeColor('errorForeground') : undefined,
          );
        }
        const tip = new vscode.MarkdownString();
        tip.appendMarkdown(`**${member?.name ?? ''}** \`${memberHex(node.memberId)}\` (decimal ${node.memberId})\n\n`);
        tip.appendMarkdown(
          `client URLs: ${member?.clientUrls.join(', ') ?? ''}\n\npeer URLs: ${member?.peerUrls.join(', ') ?? ''}\n\n`,
        );
        if (status && !status.ok) tip.appendMarkdown(`unreachable: ${status.error}`);
        if (status?.ok && status.errors.length) tip.appendMarkdown(`errors: ${status.errors.join('; ')}`);
        item.tooltip = tip;
        item.contextValue = isLeader ? 'etcd.member.leader' : 'etcd.member';
        return item;
      }
      case 'alarms': {
        const s = this.snapshots.get(node.profileId);
        const n = s?.alarms.length ?? 0;
        const item = new vscode.TreeItem(
          n ? `${n} active alarm${n === 1 ? '' : 's'}` : 'No alarms',
          n ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
        );
        item.id = `cluster/${node.profileId}/alarms`;
        item.iconPath = new vscode.ThemeIcon(
          n ? 'alert' : 'pass',
          n ? new vscode.ThemeColor('errorForeground') : undefined,
        );
        item.contextValue = n ? 'etcd.alarms.active' : 'etcd.alarms';
        return item;
      }
      case 'alarm': {
        const item = new vscode.TreeItem(node.alarm.alarm, vscode.TreeItemCollapsibleState.None);
        item.description = `member ${memberHex(node.alarm.memberId)}`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.tooltip = /NOSPACE/i.test(node.alarm.alarm)
          ? 'The database quota is exhausted: writes are refused. Free space (delete, compact, defragment), then disarm.'
          : 'Data corruption detected: check the member and restore it from a good snapshot.';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon('error');
        return item;
      }
    }
  }

  async getChildren(node?: ClusterNode): Promise<ClusterNode[]> {
    if (!node) return this.manager.profiles.map((p) => ({ type: 'connection', profileId: p.id }));
    if (node.type === 'connection') {
      try {
        const s = await this.snapshot(node.profileId);
        return [
          ...s.members.map((m): ClusterNode => ({ type: 'member', profileId: node.profileId, memberId: m.id })),
          { type: 'alarms', profileId: node.profileId },
        ];
      } catch (err) {
        if (isCancellation(err)) return [];
        return [{ type: 'message', profileId: node.profileId, text: errorText(err) }];
      }
    }
    if (node.type === 'alarms') {
      return (this.snapshots.get(node.profileId)?.alarms ?? []).map((alarm) => ({
        type: 'alarm',
        profileId: node.profileId,
        alarm,
      }));
    }
    return [];
  }
}
