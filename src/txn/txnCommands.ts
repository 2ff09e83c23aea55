import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { stringify } from 'yaml';
import { ConnectionManager } from '../connections/connectionManager';
import { EtcdExplorerError } from '../etcd/errors';
import { displayKey, parseDisplayKey } from '../etcd/keyCodec';
import { DryRunResult, TxnResult, dryRunTxn, runTxn } from '../etcd/txn/txn';
import { parseTxnDocument } from '../etcd/txn/txnDocument';
import { renderTxnResult, txnDocumentFromRecords } from '../etcd/txn/txnRender';
import { readValue } from '../etcd/values';
import { KeyTreeProvider, TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { Disposable, toAbortSignal } from '../util/disposable';
import { TxnDocuments } from './txnDocuments';

type KeyTarget = Extract<TreeNode, { type: 'key' | 'folder' }>;

/** Plain document shape the guided builder accumulates (the same YAML a Txn document holds). */
interface DraftTxn {
  compare: Array<Record<string, unknown>>;
  success: Array<Record<string, unknown>>;
  failure: Array<Record<string, unknown>>;
}

/** "New Txn from Selection" (tree), "New Txn Document", and the guided "New Txn…" that needs no file. */
export class TxnCommands extends Disposable {
  private untitledCounter = 0;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly tree: KeyTreeProvider,
    private readonly documents: TxnDocuments,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => Promise<unknown>) => this.register(registerCommand(id, fn));
    cmd('etcd.txn.fromSelection', (node?: KeyTarget, selected?: KeyTarget[]) => this.fromSelection(node, selected));
    cmd('etcd.txn.newDocument', (node?: TreeNode) => this.newDocument(node?.profileId));
    cmd('etcd.txn.guided', (node?: TreeNode) => this.guided(node?.profileId));
  }

  /**
   * Reads the selected keys and opens a Txn document that compare-and-swaps them: compares on each key's
   * mod_revision, puts with the current values to edit, and reads in the failure branch.
   */
  async fromSelection(node?: KeyTarget, selected?: KeyTarget[]): Promise<vscode.TextEditor | undefined> {
    const nodes = (selected?.length ? selected : node ? [node] : []).filter((n) => n.type === 'key');
    if (!nodes.length)
      throw new EtcdExplorerError('invalid', 'Select one or more keys (not folders) in the etcd view first.');
    const profileIds = new Set(nodes.map((n) => n.profileId));
    if (profileIds.size > 1)
      throw new EtcdExplorerError(
        'invalid',
        'The selected keys belong to different connections; a Txn runs against one.',
      );
    const profileId = nodes[0].profileId;
    if (nodes.length > settings.maxTxnOps()) {
      throw new EtcdExplorerError(
        'tooManyOps',
        `${nodes.length} keys selected, but one Txn holds at most ${settings.maxTxnOps()} operations (etcd.txn.maxOps).`,
      );
    }
    const connection = await this.manager.get(profileId);
    const records = [];
    const missing: string[] = [];
    for (const n of nodes) {
      const record = await readValue(connection, n.key);
      if (record) records.push(record);
      else missing.push(displayKey(n.key));
    }
    if (missing.length) void vscode.window.showWarningMessage(`No longer exist (left out): ${missing.join(', ')}`);
    if (!records.length) return undefined;
    return this.openDraft(txnDocumentFromRecords(records), profileId);
  }

  async newDocument(profileId?: string): Promise<vscode.TextEditor> {
    const template = [
      '# etcd Txn: if every compare holds, `success` runs, otherwise `failure` — atomically.',
      '# Keys are UTF-8 text (\\xNN for other bytes) or keyBase64; targets: value, version, create_revision,',
      '# mod_revision, lease; ops: ==, !=, <, >. Use the CodeLens above to dry-run or run it.',
      'compare:',
      '  - key: /config/feature',
      '    target: create_revision',
      '    op: "=="',
      '    value: 0',
      'success:',
      '  - put: { key: /config/feature, value: "on" }',
      'failure:',
      '  - get: { key: /config/feature }',
      '',
    ].join('\n');
    return this.openDraft(template, profileId);
  }

  /** Opens an untitled *.etcdtxn.yaml document (diagnostics and CodeLens apply at once) bound to a connection. */
  private async openDraft(text: string, profileId?: string): Promise<vscode.TextEditor> {
    const dir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? homedir();
    const uri = vscode.Uri.file(
      path.join(dir, `txn-${Date.now().toString(36)}-${++this.untitledCounter}.etcdtxn.yaml`),
    ).with({ scheme: 'untitled' });
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), text));
    if (profileId) this.documents.setConnection(doc.uri, profileId);
    this.documents.validate(doc);
    return editor;
  }

  /** A step-by-step Txn for users who want no file: add compares and operations, review, run. */
  private async guided(profileId?: string): Promise<void> {
    const id = await commandTarget(this.manager, profileId, 'Connection');
    if (!id) return;
    const connection = await this.manager.get(id);
    const draft: DraftTxn = { compare: [], success: [], failure: [] };
    for (;;) {
      const summary = `${draft.compare.length} compare(s), ${draft.success.length} success op(s), ${draft.failure.length} failure op(s)`;
      const pick = await vscode.window.showQuickPick(
        [
          { label: '$(add) Add compare…', action: 'compare' },
          { label: '$(add) Add operation if compares hold…', action: 'success' },
          { label: '$(add) Add operation if they do not…', action: 'failure' },
          { label: '$(debug-alt) Dry run', action: 'dry', description: 'evaluate the compares, write nothing' },
          { label: '$(play) Run', action: 'run', description: `against ${connection.profile.name}` },
          { label: '$(go-to-file) Open as Txn document', action: 'open' },
        ],
        { title: `New Txn on ${connection.profile.name} — ${summary}`, ignoreFocusOut: true },
      );
      if (!pick) return;
      if (pick.action === 'compare') {
        const c = await this.askCompare();
        if (c) draft.compare.push(c);
      } else if (pick.action === 'success' || pick.action === 'failure') {
        const op = await this.askOperation();
        if (op) draft[pick.action].push(op);
      } else if (pick.action === 'open') {
        await this.openDraft(stringify(draft), id);
        return;
      } else {
        const parsed = parseTxnDocument(stringify(draft), 'yaml', { maxTxnOps: settings.maxTxnOps() });
        const error = parsed.diagnostics.find((d) => d.severity === 'error');
        if (!parsed.spec || error) {
          void vscode.window.showErrorMessage(`The Txn is not valid yet: ${error?.message ?? 'add an operation.'}`);
          continue;
        }
        if (pick.action === 'run' && !draft.compare.length) {
          if (
            !(await prompts.confirm('This Txn has no compares: its success operations always run.', undefined, 'Run'))
          )
            continue;
        }
        const spec = parsed.spec;
        const result = await vscode.window.withProgress<TxnResult | DryRunResult>(
          { location: vscode.ProgressLocation.Notification, title: 'Running the Txn…', cancellable: true },
          (_p, token) =>
            pick.action === 'dry'
              ? dryRunTxn(connection, spec, { signal: toAbortSignal(token) })
              : runTxn(connection, spec, { signal: toAbortSignal(token), maxTxnOps: settings.maxTxnOps() }),
        );
        await this.documents.showResult(
          renderTxnResult(result, connection.profile.name),
          pick.action === 'dry' ? 'dry-run' : 'result',
        );
        if (pick.action === 'run') {
          this.tree.refresh();
          return;
        }
      }
    }
  }

  private async askCompare(): Promise<Record<string, unknown> | undefined> {
    const key = await askKey('Key to compare');
    if (key === undefined) return undefined;
    const target = await vscode.window.showQuickPick(['mod_revision', 'version', 'create_revision', 'value', 'lease'], {
      title: `Compare which field of ${key}?`,
    });
    if (!target) return undefined;
    const op = await vscode.window.showQuickPick(['==', '!=', '<', '>'], { title: `${key} ${target} …` });
    if (!op) return undefined;
    const hint =
      target === 'value'
        ? 'text'
        : target === 'lease'
          ? 'lease id in hex (0: no lease)'
          : 'a revision / version number (0: the key does not exist)';
    const value = await vscode.window.showInputBox({
      title: `${key} ${target} ${op} …`,
      prompt: hint,
      validateInput: (v) =>
        target === 'value' || target === 'lease' || /^\d+$/.test(v) ? undefined : 'Enter a non-negative integer.',
    });
    if (value === undefined) return undefined;
    return { key, target, op, value: target === 'value' || target === 'lease' ? value : Number(value) };
  }

  private async askOperation(): Promise<Record<string, unknown> | undefined> {
    const kind = await vscode.window.showQuickPick(
      [
        { label: 'put', description: 'write a value' },
        { label: 'get', description: 'read a key or prefix' },
        { label: 'delete', description: 'delete a key or prefix' },
      ],
      { title: 'Operation' },
    );
    if (!kind) return undefined;
    const key = await askKey(`Key to ${kind.label}`);
    if (key === undefined) return undefined;
    if (kind.label === 'put') {
      const value = await vscode.window.showInputBox({ title: `Value for ${key}`, prompt: 'Text (UTF-8)' });
      return value === undefined ? undefined : { put: { key, value } };
    }
    const scope = await vscode.window.showQuickPick(['only this key', 'every key with this prefix'], {
      title: `${kind.label} ${key}`,
    });
    if (!scope) return undefined;
    return { [kind.label]: { key, ...(scope.startsWith('every') ? { prefix: true } : {}) } };
  }
}

async function askKey(title: string): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title,
    prompt: 'UTF-8 text; \\xNN for other bytes',
    validateInput: (v) => (v && parseDisplayKey(v).length ? undefined : 'Enter a key.'),
  });
}
