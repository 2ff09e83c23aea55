import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { compact, defragment, disarmAlarms, memberHex, saveSnapshot } from '../etcd/cluster';
import { formatBytes } from '../etcd/values';
import { registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ClusterNode, ClusterTreeProvider } from './clusterTreeProvider';

/** Maintenance with confirmation and progress: compact, defragment (leader last), disarm alarms, snapshot. */
export class ClusterCommands extends Disposable {
  constructor(
    private readonly manager: ConnectionManager,
    private readonly tree: ClusterTreeProvider,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => Promise<unknown>) => this.register(registerCommand(id, fn));
    cmd('etcd.cluster.refresh', () => tree.refresh());
    cmd('etcd.cluster.compact', (node: ClusterNode) => this.compact(node));
    cmd('etcd.cluster.defragment', (node: ClusterNode) => this.defragment(node));
    cmd('etcd.cluster.disarm', (node: ClusterNode) => this.disarm(node));
    cmd('etcd.cluster.snapshot', (node: ClusterNode) => this.snapshot(node));
  }

  private async compact(node: ClusterNode): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('compact');
    const current = (
      await connection.call('read the revision', (c) => c.kv.range({ key: Buffer.from([0]), count_only: true }))
    ).header.revision;
    const revision = await vscode.window.showInputBox({
      title: `Compact ${connection.profile.name}`,
      prompt: `History before this revision is deleted for good (current revision ${current}). Watches and history reads older than it will fail.`,
      value: current,
      validateInput: (v) =>
        /^\d+$/.test(v) && BigInt(v) > 0n && BigInt(v) <= BigInt(current)
          ? undefined
          : `Enter a revision from 1 to ${current}.`,
    });
    if (!revision) return;
    const physical = await vscode.window.showQuickPick(
      [
        { label: 'Physical', description: 'wait until the space can be reclaimed by defragment', physical: true },
        { label: 'Logical only', description: 'return at once', physical: false },
      ],
      { title: 'Compaction mode' },
    );
    if (!physical) return;
    if (
      !(await prompts.confirm(
        `Compact ${connection.profile.name} to revision ${revision}?`,
        'This cannot be undone.',
        'Compact',
      ))
    )
      return;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Compacting to revision ${revision}…` },
      () => compact(connection, revision, physical.physical),
    );
    void vscode.window.showInformationMessage(`Compacted ${connection.profile.name} to revision ${revision}.`);
    await this.tree.refresh();
  }

  /** Defragments one member, or every member of the cluster one at a time with the leader last. */
  private async defragment(node: ClusterNode): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('defragment');
    const snap = await this.tree.snapshot(node.profileId);
    const members = node.type === 'member' ? snap.members.filter((m) => m.id === node.memberId) : [...snap.members];
    members.sort((a, b) => Number(a.id === snap.leaderId) - Number(b.id === snap.leaderId));
    const names = members
      .map((m) => `${m.name} (${memberHex(m.id)})${m.id === snap.leaderId ? ' — leader, last' : ''}`)
      .join('\n');
    const ok = await prompts.confirm(
      `Defragment ${members.length} member${members.length === 1 ? '' : 's'}?`,
      `Each member is blocked (no reads or writes) while it defragments.\n${names}`,
      'Defragment',
    );
    if (!ok) return;
    const clients = await this.manager.memberClients(node.profileId);
    const done: string[] = [];
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Defragmenting', cancellable: true },
      async (progress, token) => {
        for (const [i, m] of members.entries()) {
          // Cancelling stops before the next member; a member in progress finishes.
          if (token.isCancellationRequested) break;
          progress.report({ message: `${m.name} (${i + 1}/${members.length})`, increment: 100 / members.length });
          await defragment(clients.for(snap.endpointOf.get(m.id) ?? m.clientUrls[0]));
          done.push(m.name);
        }
      },
    );
    void vscode.window.showInformationMessage(`Defragmented ${done.length ? done.join(', ') : 'no member'}.`);
    await this.tree.refresh();
  }

  private async disarm(node: ClusterNode): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('disarm alarms');
    const ok = await prompts.confirm(
      'Disarm every active alarm?',
      'For NOSPACE, free space first (delete keys, compact, defragment), or the alarm comes right back.',
      'Disarm',
    );
    if (!ok) return;
    const n = await disarmAlarms(connection);
    void vscode.window.showInformationMessage(`Disarmed ${n} alarm${n === 1 ? '' : 's'}.`);
    await this.tree.refresh();
  }

  private async snapshot(node: ClusterNode): Promise<void> {
    const snap = await this.tree.snapshot(node.profileId);
    const member =
      node.type === 'member'
        ? snap.members.find((m) => m.id === node.memberId)
        : (snap.members.find((m) => m.id === snap.leaderId) ?? snap.members[0]);
    if (!member) return;
    const target = await vscode.window.showSaveDialog({
      title: `Save a snapshot of ${member.name}`,
      filters: { 'etcd snapshot': ['db'] },
    });
    if (!target) return;
    const clients = await this.manager.memberClients(node.profileId);
    const bytes = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Snapshot of ${member.name}`, cancellable: true },
      (progress, token) => {
        let last = 0;
        return saveSnapshot(clients.for(snap.endpointOf.get(member.id) ?? member.clientUrls[0]), target.fsPath, {
          signal: toAbortSignal(token),
          onProgress: (written, remaining) => {
            const total = written + remaining;
            const pct = total ? (written / total) * 100 : 0;
            progress.report({ message: `${formatBytes(written)} of ${formatBytes(total)}`, increment: pct - last });
            last = pct;
          },
        });
      },
    );
    void vscode.window.showInformationMessage(
      `Saved a ${formatBytes(bytes)} snapshot of ${member.name} to ${target.fsPath}.`,
    );
  }
}
