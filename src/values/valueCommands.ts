import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { EtcdConnection } from '../etcd/connection';
import { errorText } from '../etcd/errors';
import { displayKey, isValidUtf8, parseDisplayKey } from '../etcd/keyCodec';
import { leaseHex } from '../etcd/leases';
import {
  casPut,
  copyKey,
  createKey,
  deleteKey,
  deletePrefixGuarded,
  deletedSince,
  formatBytes,
  keyHistory,
  previewPrefixDelete,
  readValue,
} from '../etcd/values';
import { KeyTreeProvider, TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { Disposable } from '../util/disposable';
import { kubernetesInfo, kubernetesTitle } from './kubernetesDocument';
import { detectLanguage } from './languageDetect';
import { KUBERNETES_SCHEME, SNAPSHOT_SCHEME, valueUri } from './valueUris';

type KeyTarget = Extract<TreeNode, { type: 'key' | 'folder' }>;

/** Open, create, duplicate, rename, delete (key and prefix), details, history and undelete. */
export class ValueCommands extends Disposable {
  constructor(
    private readonly manager: ConnectionManager,
    private readonly tree: KeyTreeProvider,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => Promise<unknown>) => this.register(registerCommand(id, fn));
    cmd('etcd.key.open', (node: KeyTarget) => this.open(node.profileId, node.key));
    cmd('etcd.key.editAsText', (node: KeyTarget) => this.open(node.profileId, node.key, { asText: true }));
    cmd('etcd.key.create', (node?: TreeNode) => this.create(node));
    cmd('etcd.key.duplicate', (node: KeyTarget) => this.copy(node, false));
    cmd('etcd.key.rename', (node: KeyTarget) => this.copy(node, true));
    cmd('etcd.key.delete', (node: KeyTarget) => this.deleteKey(node));
    cmd('etcd.folder.delete', (node: KeyTarget) => this.deletePrefix(node));
    cmd('etcd.key.details', (node: KeyTarget) => this.details(node));
    cmd('etcd.key.history', (node: KeyTarget) => this.history(node));
    cmd('etcd.folder.undelete', (node: TreeNode) => this.undelete(node));
  }

  /**
   * Opens a value as an editor document. Text opens editable (language from the key's extension or the
   * content); a value that is not valid UTF-8 opens as a read-only hex dump, because editing it as text would
   * change its bytes.
   */
  async open(
    profileId: string,
    key: Buffer,
    options: { asText?: boolean } = {},
  ): Promise<vscode.TextEditor | undefined> {
    const connection = await this.manager.get(profileId);
    const record = await readValue(connection, key);
    if (!record) {
      void vscode.window.showWarningMessage(`${displayKey(key)} no longer exists.`);
      this.tree.refresh();
      return undefined;
    }
    if (!options.asText) {
      const kubernetes = await this.openKubernetes(profileId, key, record.value);
      if (kubernetes) return kubernetes;
    }
    if (!isValidUtf8(record.value)) {
      if (options.asText) {
        void vscode.window.showErrorMessage(
          `${displayKey(key)} is not valid UTF-8 (${formatBytes(record.value.length)}): editing it as text would change its bytes, so it opens read-only as hex.`,
        );
      }
      const doc = await vscode.workspace.openTextDocument(valueUri({ profileId, key, hex: true }, SNAPSHOT_SCHEME));
      return vscode.window.showTextDocument(doc, { preview: true });
    }
    const doc = await vscode.workspace.openTextDocument(valueUri({ profileId, key }));
    if (doc.languageId === 'plaintext') {
      const language = detectLanguage(displayKey(key), doc.getText());
      if (language && language !== 'plaintext') await vscode.languages.setTextDocumentLanguage(doc, language);
    }
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  /**
   * A protobuf object or an encrypted value kube-apiserver stored opens decoded, read-only, as YAML titled
   * kind/namespace/name. Undefined when the value is not one (JSON custom resources stay editable text).
   */
  private async openKubernetes(profileId: string, key: Buffer, value: Buffer): Promise<vscode.TextEditor | undefined> {
    let info;
    try {
      info = kubernetesInfo(value, key);
    } catch (err) {
      void vscode.window.showWarningMessage(`${errorText(err)} It opens as hex.`);
      return undefined;
    }
    if (!info) return undefined;
    const title = kubernetesTitle(info, key, settings.kubernetesRegistryPrefix());
    const uri = valueUri({ profileId, key, kubernetes: { view: 'yaml', title } }, KUBERNETES_SCHEME);
    const doc = await vscode.workspace.openTextDocument(uri);
    return vscode.window.showTextDocument(doc, { preview: false });
  }

  private async create(node?: TreeNode): Promise<void> {
    const profileId = await commandTarget(this.manager, node, 'Create a key on which connection?');
    if (!profileId) return;
    const connection = await this.manager.get(profileId);
    connection.assertWritable('create a key');
    const folder = node?.type === 'folder' ? node.key : (this.tree.filter(profileId) ?? Buffer.alloc(0));
    const text = await vscode.window.showInputBox({
      title: `New key in ${connection.profile.name}`,
      prompt: 'Full key (\\xNN for raw bytes). The value opens in an editor after creation.',
      value: displayKey(folder),
      valueSelection: [displayKey(folder).length, displayKey(folder).length],
      validateInput: (v) => (v ? undefined : 'Enter a key.'),
    });
    if (!text) return;
    const key = parseDisplayKey(text);
    const leasePick = await vscode.window.showQuickPick(
      [
        { label: 'No lease', lease: undefined as string | undefined },
        { label: 'Attach to a lease…', lease: 'ask' },
      ],
      { title: 'Lease' },
    );
    if (!leasePick) return;
    let lease: string | undefined;
    if (leasePick.lease) {
      const id = await vscode.window.showInputBox({
        title: 'Lease id (hex as etcdctl shows it, or decimal)',
        validateInput: (v) => (/^(0x)?[0-9a-f]+$/i.test(v.trim()) ? undefined : 'Enter a lease id.'),
      });
      if (!id) return;
      lease = /^\d+$/.test(id.trim()) ? id.trim() : BigInt(`0x${id.trim().replace(/^0x/i, '')}`).toString();
    }
    const result = await createKey(connection, key, Buffer.alloc(0), {
      lease,
      maxValueBytes: settings.maxValueBytes(),
    });
    if (!result.ok) {
      void vscode.window.showErrorMessage(`${displayKey(key)} already exists; nothing was written.`);
      return;
    }
    this.tree.refresh(node);
    await this.open(profileId, key);
  }

  private async copy(node: KeyTarget, rename: boolean): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable(rename ? 'rename a key' : 'duplicate a key');
    const from = await readValue(connection, node.key);
    if (!from) throw new Error(`${displayKey(node.key)} no longer exists.`);
    const text = await vscode.window.showInputBox({
      title: `${rename ? 'Rename' : 'Duplicate'} ${displayKey(node.key)}`,
      prompt: `${rename ? 'New key. Copy and delete happen in one Txn, only if the key is unchanged and the target is free.' : 'Key of the copy (keeps value and lease).'}${registryNote(node.key)}`,
      value: displayKey(node.key),
      validateInput: (v) => (v && v !== displayKey(node.key) ? undefined : 'Enter a different key.'),
    });
    if (!text) return;
    const result = await copyKey(connection, from, parseDisplayKey(text), { deleteSource: rename });
    if (!result.ok) {
      throw new Error(
        result.reason === 'targetExists'
          ? `${text} already exists; nothing was written.`
          : `${displayKey(node.key)} changed since it was read; nothing was written. Try again.`,
      );
    }
    this.tree.refresh();
    vscode.window.setStatusBarMessage(
      `etcd: ${rename ? 'renamed' : 'duplicated'} to ${text} at revision ${result.revision}`,
      5000,
    );
  }

  private async deleteKey(node: KeyTarget): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('delete a key');
    const record = await readValue(connection, node.key);
    if (!record) {
      this.tree.refresh();
      return;
    }
    const ok = await prompts.confirm(
      `Delete ${displayKey(node.key)}?`,
      `${formatBytes(record.value.length)}, version ${record.version}, mod revision ${record.modRevision}${record.lease !== '0' ? `, lease ${leaseHex(record.lease)}` : ''}. It is deleted only if unchanged since this prompt.${registryNote(node.key)}`,
      'Delete',
    );
    if (!ok) return;
    const result = await deleteKey(connection, node.key, record.modRevision);
    if (!result.ok) throw new Error(`${displayKey(node.key)} changed after the prompt; nothing was deleted.`);
    this.tree.refresh();
  }

  /**
   * Preview (count and sample keys), confirm — typing the prefix for the root or a top-level folder — then one
   * delete that runs only if nothing under the prefix changed since the preview.
   */
  private async deletePrefix(node: TreeNode): Promise<void> {
    const profileId = node.profileId;
    const connection = await this.manager.get(profileId);
    connection.assertWritable('delete keys');
    const prefix = node.type === 'folder' ? node.key : (this.tree.filter(profileId) ?? Buffer.alloc(0));
    const preview = await previewPrefixDelete(connection, prefix, 10);
    const shown = displayKey(prefix) || '(every key)';
    if (preview.count === 0) {
      void vscode.window.showInformationMessage(`Nothing under ${shown}.`);
      return;
    }
    const sample = preview.sample.map((k) => `  ${displayKey(k)}`).join('\n');
    const ok = await prompts.confirm(
      `Delete ${preview.count.toLocaleString()} key${preview.count === 1 ? '' : 's'} under ${shown}?`,
      `Connection ${connection.profile.name}, revision ${preview.revision}.\n${sample}${preview.count > preview.sample.length ? '\n  …' : ''}\n\nThe delete runs only if no key under the prefix changed since this preview.${registryNote(prefix)}`,
      'Delete',
    );
    if (!ok) return;
    if (isBroadPrefix(prefix, settings.separator())) {
      const expected = prefix.length ? displayKey(prefix) : 'DELETE ALL';
      const typed = await prompts.typeToConfirm(
        `Type ${expected} to confirm deleting ${preview.count.toLocaleString()} keys`,
        expected,
      );
      if (!typed) return;
    }
    const result = await deletePrefixGuarded(connection, preview);
    if (!result.ok)
      throw new Error(`Keys under ${shown} changed after the preview; nothing was deleted. Preview again.`);
    this.tree.refresh();
    void vscode.window.showInformationMessage(
      `Deleted ${result.deleted.toLocaleString()} keys under ${shown} (revision ${result.revision}).`,
    );
  }

  private async details(node: KeyTarget): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    const record = await readValue(connection, node.key);
    if (!record) throw new Error(`${displayKey(node.key)} no longer exists.`);
    let lease = 'none';
    if (record.lease !== '0') {
      const ttl = await connection.call('read lease', (c) => c.leaseClient.leaseTimeToLive({ ID: record.lease }));
      lease = `${leaseHex(record.lease)} (${record.lease}), ${ttl.TTL === '-1' ? 'expired' : `${ttl.TTL} s left of ${ttl.grantedTTL} s`}`;
    }
    await vscode.window.showInformationMessage(displayKey(node.key), {
      modal: true,
      detail: [
        `create revision: ${record.createRevision}`,
        `mod revision: ${record.modRevision}`,
        `version: ${record.version}`,
        `lease: ${lease}`,
        `size: ${formatBytes(record.value.length)}${isValidUtf8(record.value) ? '' : ' (binary)'}`,
        `read at revision: ${record.revision}`,
      ].join('\n'),
    });
  }

  /** Pick a previous version: compare it with the current value, or restore it (CAS). */
  private async history(node: KeyTarget): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    const history = await keyHistory(connection, node.key, 100);
    if (history.versions.length === 0) throw new Error(`${displayKey(node.key)} no longer exists.`);
    type Item = vscode.QuickPickItem & { revision?: string };
    const [latest] = history.versions;
    const items: Item[] = history.versions.map((v, i) => ({
      label: `${i === 0 ? '$(circle-filled) ' : ''}revision ${v.modRevision}`,
      description: `version ${v.version} · ${formatBytes(v.value.length)}`,
      detail: preview(v.value),
      revision: v.modRevision,
    }));
    if (history.compacted) {
      items.push({
        label: '$(history) older versions compacted',
        description: history.compactedBefore
          ? `history before revision ${history.compactedBefore} is gone`
          : 'history is gone',
      });
    } else if (history.truncated) items.push({ label: '… older versions not shown' });
    const picks = await vscode.window.showQuickPick(items, {
      title: `History of ${displayKey(node.key)} — pick one to compare with the current value, or two to compare with each other`,
      canPickMany: true,
    });
    const revisions = (picks ?? []).map((p) => p.revision).filter((r): r is string => !!r);
    if (revisions.length === 0) return;
    const [a, b] =
      revisions.length >= 2 ? [revisions[revisions.length - 1], revisions[0]] : [revisions[0], latest.modRevision];
    const uri = (rev: string) => valueUri({ profileId: node.profileId, key: node.key, revision: rev }, SNAPSHOT_SCHEME);
    await vscode.commands.executeCommand(
      'vscode.diff',
      uri(a),
      uri(b),
      `${displayKey(node.key)}: revision ${a} ↔ ${b}`,
    );
    if (revisions.length === 1 && a !== latest.modRevision) {
      const restore = await vscode.window.showInformationMessage(
        `Restore ${displayKey(node.key)} to its value at revision ${a}?`,
        'Restore',
      );
      if (restore === 'Restore') await this.restore(connection, node.key, a, latest.modRevision);
    }
  }

  private async restore(connection: EtcdConnection, key: Buffer, revision: string, expected: string): Promise<void> {
    const old = await readValue(connection, key, revision);
    if (!old) throw new Error(`No value at revision ${revision}.`);
    const result = await casPut(connection, key, old.value, expected, { maxValueBytes: settings.maxValueBytes() });
    if (!result.ok) throw new Error(`${displayKey(key)} changed meanwhile; nothing was restored.`);
    vscode.window.setStatusBarMessage(`etcd: restored ${displayKey(key)} to revision ${revision}'s value`, 5000);
  }

  /** Keys deleted under a folder since a revision; restore the chosen ones (each only if still absent). */
  private async undelete(node: TreeNode): Promise<void> {
    const connection = await this.manager.get(node.profileId);
    connection.assertWritable('restore keys');
    const prefix = node.type === 'folder' ? node.key : Buffer.alloc(0);
    const since = await vscode.window.showInputBox({
      title: `Deleted under ${displayKey(prefix) || '(root)'} since revision…`,
      prompt: `Current revision: ${connection.summary?.revision ?? 'unknown'}. History before the compaction point is gone.`,
      validateInput: (v) => (/^\d+$/.test(v) ? undefined : 'Enter a revision number.'),
    });
    if (!since) return;
    const deleted = await deletedSince(connection, prefix, since);
    if (deleted.length === 0) {
      void vscode.window.showInformationMessage(
        `No key under ${displayKey(prefix) || '(root)'} was deleted since revision ${since}.`,
      );
      return;
    }
    const picks = await vscode.window.showQuickPick(
      deleted.map((d) => ({
        label: displayKey(d.key),
        description: `${formatBytes(d.lastValue.value.length)} at revision ${since}`,
        detail: preview(d.lastValue.value),
        d,
        picked: true,
      })),
      { title: 'Restore which keys? (their values as of that revision, without lease)', canPickMany: true },
    );
    if (!picks?.length) return;
    let restored = 0;
    for (const p of picks) if ((await createKey(connection, p.d.key, p.d.lastValue.value)).ok) restored++;
    this.tree.refresh();
    void vscode.window.showInformationMessage(
      `Restored ${restored} of ${picks.length} keys${restored < picks.length ? ' (the others exist again already)' : ''}.`,
    );
  }
}

/** Root and first-level folders are "broad": deleting them needs the prefix typed. */
function isBroadPrefix(prefix: Buffer, separator: string): boolean {
  const text = prefix.toString('latin1');
  const segments = text.split(separator).filter((s) => s.length > 0);
  return segments.length <= 1;
}

/** Every write under the Kubernetes registry says what it skips (admission, validation, watch caches). */
function registryNote(key: Buffer): string {
  const prefix = settings.kubernetesRegistryPrefix();
  return prefix && displayKey(key).startsWith(prefix)
    ? ` Warning: this is under the Kubernetes registry prefix ${prefix}; writing here bypasses the API server (admission, validation and its watch caches do not see it).`
    : '';
}

function preview(value: Buffer): string {
  if (!isValidUtf8(value)) return `binary: ${value.subarray(0, 24).toString('hex')}${value.length > 24 ? '…' : ''}`;
  const text = value.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > 120 ? `${text.slice(0, 120)}…` : text || '(empty)';
}
