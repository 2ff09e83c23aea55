import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { displayKey } from '../etcd/keyCodec';
import {
  KeepAliveSession,
  grantLease,
  inspectLease,
  keepAliveOnce,
  leaseHex,
  lockGroups,
  parseLeaseId,
  remainingTtl,
  revokeLease,
} from '../etcd/leases';
import { casPut, readValue } from '../etcd/values';
import { staleSinceText } from '../shared/staleness';
import { KeyTreeProvider, TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { Disposable } from '../util/disposable';
import { LeaseNode, LeaseTreeProvider } from './leaseTreeProvider';

type LeaseTarget = Extract<LeaseNode, { type: 'lease' }>;

/** Grant, revoke (with a preview of the keys it deletes), keep-alive once or continuously, attach/detach, inspect, locks. */
export class LeaseCommands extends Disposable {
  private readonly sessions = new Map<string, KeepAliveSession>();
  private readonly statusItem = this.register(
    vscode.window.createStatusBarItem('etcd.keepAlive', vscode.StatusBarAlignment.Left, 49),
  );

  constructor(
    private readonly manager: ConnectionManager,
    private readonly leases: LeaseTreeProvider,
    private readonly keyTree: KeyTreeProvider,
    private readonly view: vscode.TreeView<LeaseNode>,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => unknown) => this.register(registerCommand(id, fn));
    this.statusItem.name = 'etcd keep-alive';
    this.statusItem.command = 'etcd.leases.focus';
    cmd('etcd.lease.refresh', () => leases.refresh());
    cmd('etcd.lease.grant', (node?: LeaseNode) => this.grant(node));
    cmd('etcd.lease.revoke', (node: LeaseTarget) => this.revoke(node));
    cmd('etcd.lease.keepAliveOnce', (node: LeaseTarget) => this.keepAliveOnce(node));
    cmd('etcd.lease.keepAlive', (node: LeaseTarget) => this.startKeepAlive(node));
    cmd('etcd.lease.stopKeepAlive', (node: LeaseTarget) => this.stopKeepAlive(node.id));
    cmd('etcd.lease.inspect', () => this.inspect());
    cmd('etcd.key.attachLease', (node: TreeNode) => this.attachLease(node));
    cmd('etcd.key.detachLease', (node: TreeNode) => this.detach(node));
    cmd('etcd.key.revealLease', (node: TreeNode) => this.revealLease(node));
    cmd('etcd.folder.locks', (node: TreeNode) => this.locks(node));
    this.register({ dispose: () => [...this.sessions.values()].forEach((s) => s.stop()) });
  }

  private profileOf(node?: { profileId: string }): Promise<string | undefined> {
    return commandTarget(this.manager, node, 'Which connection?');
  }

  private async grant(node?: LeaseNode): Promise<void> {
    const profileId = await this.profileOf(node);
    if (!profileId) return;
    const connection = await this.manager.get(profileId);
    connection.assertWritable('grant a lease');
    const ttl = await vscode.window.showInputBox({
      title: 'Grant lease: TTL in seconds',
      value: '60',
      validateInput: (v) => (/^\d+$/.test(v) && +v > 0 ? undefined : 'Enter seconds.'),
    });
    if (!ttl) return;
    const idText = await vscode.window.showInputBox({
      title: 'Lease id (hex, optional — empty lets etcd choose)',
      validateInput: (v) => (!v || /^(0x)?[0-9a-f]{1,16}$/i.test(v.trim()) ? undefined : 'Hex id, like etcdctl shows.'),
    });
    if (idText === undefined) return;
    const id = await grantLease(connection, Number(ttl), idText ? parseLeaseId(idText) : undefined);
    this.leases.refresh(profileId);
    vscode.window.setStatusBarMessage(`etcd: granted lease ${leaseHex(id)} (${ttl} s)`, 5000);
  }

  /** Shows which keys the revoke deletes, asks, revokes, and updates both views. */
  async revoke(node: LeaseTarget): Promise<boolean> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('revoke a lease');
    const info = await inspectLease(connection, node.id);
    const shown = info.keys
      .slice(0, 15)
      .map((k) => `  ${displayKey(k)}`)
      .join('\n');
    const total = info.keys.length + info.foreignKeys;
    const ok = await prompts.confirm(
      `Revoke lease ${leaseHex(node.id)}? ${total === 0 ? 'No key is attached.' : `${total} attached key${total === 1 ? '' : 's'} will be deleted.`}`,
      `${shown}${total > 15 ? '\n  …' : ''}`,
      'Revoke',
    );
    if (!ok) return false;
    await revokeLease(connection, node.id);
    this.stopKeepAlive(node.id);
    this.leases.refresh(node.profileId);
    this.keyTree.refresh();
    return true;
  }

  private async keepAliveOnce(node: LeaseTarget): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    const ttl = await keepAliveOnce(connection, node.id);
    this.leases.refresh(node.profileId);
    vscode.window.setStatusBarMessage(`etcd: lease ${leaseHex(node.id)} renewed to ${ttl} s`, 4000);
  }

  private async startKeepAlive(node: LeaseTarget): Promise<void> {
    if (this.sessions.has(node.id)) return;
    const connection = await this.manager.get(node.profileId);
    const info = await inspectLease(connection, node.id);
    const session = new KeepAliveSession(connection, node.id, info.grantedTtl);
    this.sessions.set(node.id, session);
    session.onDidChange((s) => {
      if (s.state === 'alive') {
        this.leases.keptAlive.set(node.id, 'on');
        this.leases.renewed(node.profileId, node.id, s.ttl, s.at);
      }
      if (s.state === 'stale') this.leases.keptAlive.set(node.id, staleSinceText(s.since));
      if (s.state === 'disconnected') {
        this.leases.keptAlive.set(node.id, 'disconnected');
        void vscode.window.setStatusBarMessage(
          `etcd: keep-alive of lease ${leaseHex(node.id)} cannot reach the cluster: ${s.message}`,
          5000,
        );
      }
      if (s.state === 'lost') {
        this.stopKeepAlive(node.id);
        void vscode.window.showErrorMessage(
          `Lease ${leaseHex(node.id)} was lost: it expired or was revoked, and its keys were deleted by etcd. It was not re-granted.`,
        );
        this.leases.refresh(node.profileId);
      }
      this.updateStatus();
    });
    session.start();
    this.updateStatus();
  }

  private stopKeepAlive(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.leases.keptAlive.delete(id);
    session.stop();
    this.updateStatus();
  }

  private updateStatus(): void {
    if (this.sessions.size === 0) {
      this.statusItem.hide();
      return;
    }
    const states = [...this.sessions.values()].map((s) => s.state);
    const down = states.filter((s) => s.state === 'disconnected').length;
    const stale = states.flatMap((s) => (s.state === 'stale' ? [s.since] : []));
    this.statusItem.text =
      `$(pulse) keep-alive: ${this.sessions.size} lease${this.sessions.size === 1 ? '' : 's'}` +
      `${stale.length ? ` · ${stale.length} ${staleSinceText(Math.min(...stale))}` : ''}${down ? ` · ${down} cannot reach etcd` : ''}`;
    this.statusItem.backgroundColor =
      down || stale.length ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.statusItem.tooltip = [...this.sessions.values()]
      .map(
        (s) =>
          `${leaseHex(s.leaseId)}: ${s.state.state === 'stale' ? `${staleSinceText(s.state.since)} (${s.state.message})` : s.state.state}`,
      )
      .join('\n');
    this.statusItem.show();
  }

  private async inspect(): Promise<void> {
    const profileId = await this.profileOf();
    if (!profileId) return;
    const text = await vscode.window.showInputBox({
      title: 'Inspect lease: id (hex, as etcdctl shows)',
      validateInput: (v) => (/^(0x)?[0-9a-f]{1,16}$/i.test(v.trim()) ? undefined : 'Hex id.'),
    });
    if (!text) return;
    const connection = await this.manager.get(profileId);
    const info = await inspectLease(connection, parseLeaseId(text));
    await vscode.window.showInformationMessage(`Lease ${leaseHex(info.id)}`, {
      modal: true,
      detail:
        info.ttl < 0
          ? 'This lease does not exist (expired or revoked).'
          : `decimal ${info.id}\ngranted TTL ${info.grantedTtl} s, ${remainingTtl(info).toFixed(0)} s left\n${info.keys.length + info.foreignKeys} key(s):\n${info.keys
              .slice(0, 20)
              .map((k) => `  ${displayKey(k)}`)
              .join('\n')}`,
    });
  }

  private async attachLease(node: TreeNode): Promise<void> {
    if (node.type !== 'key') return;
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('attach a lease');
    const list = await this.leases.leasesOf(node.profileId);
    const pick = await vscode.window.showQuickPick(
      list
        .filter((l) => remainingTtl(l) > 0)
        .map((l) => ({
          label: leaseHex(l.id),
          description: `${Math.ceil(remainingTtl(l))} s left · ${l.keys.length} keys`,
          id: l.id,
        })),
      { title: `Attach ${displayKey(node.key)} to lease…` },
    );
    if (!pick) return;
    await this.setLease(node.profileId, node.key, pick.id);
  }

  private async detach(node: TreeNode): Promise<void> {
    if (node.type !== 'key') return;
    await this.setLease(node.profileId, node.key, '0');
  }

  /** CAS put of the same value with another lease (only if the key is unchanged since read). */
  private async setLease(profileId: string, key: Buffer, lease: string): Promise<void> {
    const connection = await this.manager.get(profileId);
    const record = await readValue(connection, key);
    if (!record) throw new Error(`${displayKey(key)} no longer exists.`);
    const result = await casPut(connection, key, record.value, record.modRevision, {
      lease,
      maxValueBytes: settings.maxValueBytes(),
    });
    if (!result.ok) throw new Error(`${displayKey(key)} changed meanwhile; its lease was not changed.`);
    this.leases.refresh(profileId);
    this.keyTree.refresh();
  }

  private async revealLease(node: TreeNode): Promise<void> {
    if (node.type !== 'key' || !node.meta || node.meta.lease === '0') return;
    await this.leases.leasesOf(node.profileId);
    await vscode.commands.executeCommand('etcd.leases.focus');
    await this.view.reveal(this.leases.leaseNode(node.profileId, node.meta.lease), {
      select: true,
      focus: true,
      expand: true,
    });
  }

  private async locks(node: TreeNode): Promise<void> {
    if (node.type !== 'folder') return;
    const connection = await this.manager.get(node.profileId);
    const groups = await lockGroups(connection, node.key, settings.separator());
    if (groups.length === 0) {
      void vscode.window.showInformationMessage(`No lock or election keys under ${displayKey(node.key)}.`);
      return;
    }
    await vscode.window.showQuickPick(
      groups.flatMap((g) => [
        { label: displayKey(g.name), kind: vscode.QuickPickItemKind.Separator },
        {
          label: `$(lock) holder ${displayKey(g.holder.key.subarray(g.name.length))}`,
          description: `create revision ${g.holder.createRevision}${g.holder.lease !== '0' ? ` · lease ${leaseHex(g.holder.lease)}` : ''}`,
        },
        ...g.waiters.map((w, i) => ({
          label: `$(watch) waiter ${i + 1}: ${displayKey(w.key.subarray(g.name.length))}`,
          description: `create revision ${w.createRevision}`,
        })),
      ]),
      { title: `Locks and elections under ${displayKey(node.key)} (holder = lowest create revision)` },
    );
  }
}
