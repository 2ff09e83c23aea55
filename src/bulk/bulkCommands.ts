import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { BulkCheckpoint, BulkResult } from '../etcd/batchRunner';
import { bulkDelete, bulkPut, previewBulkDelete, renderBulkReport } from '../etcd/bulk';
import { BulkFormat, DeleteTarget, parseBulkInput } from '../etcd/bulkInput';
import { EtcdExplorerError } from '../etcd/errors';
import { displayKey } from '../etcd/keyCodec';
import { exportPrefix, importExport, verifyExport } from '../etcd/transfer';
import { formatBytes } from '../etcd/values';
import { KeyTreeProvider, TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { commandTarget, registerCommand } from '../host/commandRegistrar';
import { CommandId } from '../host/commandIds';
import { prompts } from '../host/prompts';
import { Disposable, toAbortSignal } from '../util/disposable';
import { ReadOnlyDocuments } from '../util/readOnlyDocuments';

type KeyTarget = Extract<TreeNode, { type: 'key' | 'folder' }>;
type ImportMode = 'skip' | 'overwrite' | 'ifUnchanged';

/**
 * Bulk put (JSON / YAML / NDJSON), bulk delete of selected keys and folders, export of a prefix to NDJSON with a
 * SHA-256 manifest, and import of such an export. Every run previews and confirms, shows progress per batch,
 * can be cancelled, keeps a resume checkpoint (workspace-independent global state) and ends with a report that
 * lists exactly which batches committed.
 */
export class BulkCommands extends Disposable {
  private reportCounter = 0;

  constructor(
    private readonly manager: ConnectionManager,
    private readonly tree: KeyTreeProvider,
    private readonly reports: ReadOnlyDocuments,
    private readonly state: vscode.Memento,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => Promise<unknown>) => this.register(registerCommand(id, fn));
    cmd('etcd.bulk.put', (arg?: TreeNode | vscode.Uri) => this.put(arg));
    cmd('etcd.bulk.delete', (node?: KeyTarget, selected?: KeyTarget[]) => this.delete(node, selected));
    cmd('etcd.bulk.export', (node?: TreeNode) => this.export(node));
    cmd('etcd.bulk.import', (node?: TreeNode) => this.import(node));
  }

  /** Bulk put from a file (or the active editor's text); returns the result (tests use it). */
  async put(
    arg?: TreeNode | vscode.Uri,
    options: { file?: vscode.Uri; profileId?: string } = {},
  ): Promise<BulkResult | undefined> {
    const profileId = await commandTarget(
      this.manager,
      options.profileId ?? (arg instanceof vscode.Uri ? undefined : arg),
      'Connection',
    );
    if (!profileId) return undefined;
    const source = options.file ?? (arg instanceof vscode.Uri ? arg : await this.pickSource());
    if (!source) return undefined;
    const text =
      source.scheme === 'file'
        ? await readFile(source.fsPath, 'utf8')
        : (await vscode.workspace.openTextDocument(source)).getText();
    const format = bulkFormat(source, text);
    const items = parseBulkInput(text, format);
    if (!items.length) throw new EtcdExplorerError('invalid', `${path.basename(source.path)} holds no keys.`);
    const connection = await this.manager.connected(profileId);
    connection.assertWritable('bulk put');
    const maxOps = settings.maxTxnOps();
    const batches = Math.ceil(items.length / maxOps);
    const sample = items
      .slice(0, 8)
      .map((i) => `  ${displayKey(i.key)} (${formatBytes(i.value.length)})`)
      .join('\n');
    const checkpointKey = `bulk.checkpoint:${profileId}:${createHash('sha256').update(text).digest('hex')}`;
    const saved = this.state.get<BulkCheckpoint>(checkpointKey);
    const choices = saved ? ['Resume', 'Start Over'] : ['Put', 'Put Atomically'];
    const answer = await prompts.ask(
      saved
        ? `Resume the bulk put of ${items.length.toLocaleString()} keys into ${connection.profile.name}? ${saved.committed.length} of ${batches} batches committed earlier.`
        : `Put ${items.length.toLocaleString()} keys into ${connection.profile.name}?`,
      `${batches} Txn batch${batches === 1 ? '' : 'es'} of at most ${maxOps} operations (etcd.txn.maxOps). Existing keys are overwritten.\n${sample}${items.length > 8 ? '\n  …' : ''}\n\n"Put Atomically" uses a single Txn and refuses more than ${maxOps} keys.`,
      ...choices,
    );
    if (!answer) return undefined;
    const atomic = answer === 'Put Atomically';
    const checkpoint = answer === 'Resume' ? saved : undefined;
    const result = await this.runBatches(`Putting ${items.length.toLocaleString()} keys`, (signal, onBatch) =>
      bulkPut(connection, items, {
        maxTxnOps: maxOps,
        concurrency: settings.bulkConcurrency(),
        atomic,
        mode: 'overwrite',
        signal,
        onBatch,
        checkpoint,
        onCheckpoint: (c) => void this.state.update(checkpointKey, c),
      }),
    );
    if (result.complete) await this.state.update(checkpointKey, undefined);
    await this.finish(result, `Bulk put of ${path.basename(source.path)} into ${connection.profile.name}`);
    return result;
  }

  /** Deletes the selected keys and folders (prefixes) in Txn batches after a preview. */
  async delete(node?: KeyTarget, selected?: KeyTarget[]): Promise<BulkResult | undefined> {
    const nodes = (selected?.length ? selected : node ? [node] : []).filter(
      (n) => n.type === 'key' || n.type === 'folder',
    );
    if (!nodes.length) throw new EtcdExplorerError('invalid', 'Select keys or folders in the etcd view first.');
    if (new Set(nodes.map((n) => n.profileId)).size > 1)
      throw new EtcdExplorerError('invalid', 'The selection spans several connections; delete from one at a time.');
    const connection = await this.manager.connected(nodes[0].profileId);
    connection.assertWritable('delete keys');
    const targets: DeleteTarget[] = nodes.map((n) => ({ key: n.key, prefix: n.type === 'folder' }));
    const preview = await previewBulkDelete(connection, targets);
    if (!preview.keys) {
      void vscode.window.showInformationMessage('Nothing to delete: the selected keys no longer exist.');
      return undefined;
    }
    const answer = await prompts.ask(
      `Delete ${preview.keys.toLocaleString()} key${preview.keys === 1 ? '' : 's'} from ${connection.profile.name}?`,
      `${nodes.map((n) => `  ${displayKey(n.key)}${n.type === 'folder' ? '… (prefix)' : ''}`).join('\n')}\n\nFor example:\n${preview.sample.map((k) => `  ${k}`).join('\n')}\n\nCounted at revision ${preview.revision}. Deletes run in Txn batches; each batch commits on its own.`,
      'Delete',
    );
    if (answer !== 'Delete') return undefined;
    const result = await this.runBatches(`Deleting ${preview.keys.toLocaleString()} keys`, (signal, onBatch) =>
      bulkDelete(connection, targets, {
        maxTxnOps: settings.maxTxnOps(),
        concurrency: settings.bulkConcurrency(),
        signal,
        onBatch,
      }),
    );
    await this.finish(result, `Bulk delete on ${connection.profile.name}`);
    return result;
  }

  /** Exports a folder (or the whole connection) to NDJSON + a SHA-256 manifest, pinned at one revision. */
  async export(node?: TreeNode, target?: vscode.Uri): Promise<string | undefined> {
    const profileId = await commandTarget(this.manager, node, 'Connection');
    if (!profileId) return undefined;
    const connection = await this.manager.connected(profileId);
    const prefix =
      node && (node.type === 'folder' || node.type === 'key')
        ? node.key
        : (this.tree.filter(profileId) ?? Buffer.alloc(0));
    const shown = displayKey(prefix) || '(every key)';
    const file =
      target ??
      (await vscode.window.showSaveDialog({
        title: `Export ${shown} from ${connection.profile.name}`,
        filters: { 'NDJSON export': ['ndjson'] },
        defaultUri: vscode.Uri.file(
          path.join(
            vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? homedir(),
            `${connection.profile.name}-export.ndjson`,
          ),
        ),
      }));
    if (!file) return undefined;
    const manifest = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting ${shown}`, cancellable: true },
      (progress, token) =>
        exportPrefix(connection, prefix, file.fsPath, {
          signal: toAbortSignal(token),
          onProgress: (keys, bytes) =>
            progress.report({ message: `${keys.toLocaleString()} keys, ${formatBytes(bytes)}` }),
        }),
    );
    const message = `Exported ${manifest.keys.toLocaleString()} keys under ${shown} at revision ${manifest.revision} to ${path.basename(file.fsPath)} (SHA-256 ${manifest.sha256.slice(0, 12)}…).`;
    void vscode.window.showInformationMessage(message);
    return message;
  }

  /** Imports an export: checksum first, then the chosen mode for existing keys, in Txn batches. */
  async import(
    node?: TreeNode,
    options: { file?: vscode.Uri; mode?: ImportMode } = {},
  ): Promise<BulkResult | undefined> {
    const profileId = await commandTarget(this.manager, node, 'Connection');
    if (!profileId) return undefined;
    const connection = await this.manager.connected(profileId);
    connection.assertWritable('import keys');
    const file =
      options.file ??
      (
        await vscode.window.showOpenDialog({
          title: `Import into ${connection.profile.name}`,
          filters: { 'NDJSON export': ['ndjson'] },
          canSelectMany: false,
        })
      )?.[0];
    if (!file) return undefined;
    const manifest = await verifyExport(file.fsPath);
    const mode =
      options.mode ??
      (
        await vscode.window.showQuickPick(
          [
            { label: 'Skip existing keys', mode: 'skip' as const, description: 'only create keys that do not exist' },
            {
              label: 'Only if unchanged',
              mode: 'ifUnchanged' as const,
              description: 'overwrite a key only if it is still as exported (CAS on mod_revision)',
            },
            { label: 'Overwrite', mode: 'overwrite' as const, description: 'write every key' },
          ],
          {
            title: `Import ${manifest.keys.toLocaleString()} keys (checksum verified) into ${connection.profile.name}: existing keys?`,
          },
        )
      )?.mode;
    if (!mode) return undefined;
    if (!options.mode) {
      const ok = await prompts.ask(
        `Import ${manifest.keys.toLocaleString()} keys into ${connection.profile.name} (${mode})?`,
        `From ${path.basename(file.fsPath)}: prefix ${manifest.prefix || '(every key)'}, exported at revision ${manifest.revision}, SHA-256 verified. Leases are not imported (they belong to the source cluster).`,
        'Import',
      );
      if (ok !== 'Import') return undefined;
    }
    const result = await this.runBatches(`Importing ${manifest.keys.toLocaleString()} keys`, (signal, onBatch) =>
      importExport(connection, file.fsPath, {
        mode,
        maxTxnOps: settings.maxTxnOps(),
        concurrency: settings.bulkConcurrency(),
        signal,
        onBatch,
      }),
    );
    await this.finish(result, `Import of ${path.basename(file.fsPath)} into ${connection.profile.name}`);
    return result;
  }

  /** Progress per committed batch, cancellable; the result (also when cancelled) comes back for the report. */
  private runBatches(
    title: string,
    run: (
      signal: AbortSignal | undefined,
      onBatch: (b: { index: number }, done: number, total: number) => void,
    ) => Promise<BulkResult>,
  ): Thenable<BulkResult> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) => {
        let last = 0;
        return run(toAbortSignal(token), (_b, done, total) => {
          const pct = total ? (done / total) * 100 : 100;
          progress.report({ message: `batch ${done} of ${total}`, increment: pct - last });
          last = pct;
        });
      },
    );
  }

  private async finish(result: BulkResult, title: string): Promise<void> {
    this.tree.refresh();
    await this.reports.showMarkdown(
      this.reports.uri(`bulk/report-${++this.reportCounter}.md`),
      renderBulkReport(result, title),
    );
    const committed = result.batches.filter((b) => b.status === 'committed').length;
    if (result.complete) {
      void vscode.window.showInformationMessage(
        `${title}: done — ${committed} batch(es) committed, ${result.written.toLocaleString()} written${result.skipped ? `, ${result.skipped.toLocaleString()} skipped` : ''}${result.conflicts ? `, ${result.conflicts.toLocaleString()} conflicts` : ''}.`,
      );
    } else {
      void vscode.window.showWarningMessage(
        `${title}: ${result.cancelled ? 'cancelled' : 'stopped'} after ${committed} of ${result.batches.length} batches${result.error ? ` — ${result.error}` : ''}. The report lists what committed; run it again to resume.`,
      );
    }
  }

  private async pickSource(): Promise<vscode.Uri | undefined> {
    const active = vscode.window.activeTextEditor?.document;
    const items: Array<vscode.QuickPickItem & { uri?: vscode.Uri }> = [];
    if (active && /\.(json|ya?ml|ndjson|jsonl)$/i.test(active.uri.path))
      items.push({ label: `$(file) ${path.basename(active.uri.path)}`, description: 'active editor', uri: active.uri });
    items.push({ label: '$(folder-opened) Choose a file…' });
    const pick =
      items.length > 1
        ? await vscode.window.showQuickPick(items, { title: 'Keys to put (JSON, YAML or NDJSON)' })
        : items[0];
    if (!pick) return undefined;
    if (pick.uri) return pick.uri;
    return (
      await vscode.window.showOpenDialog({
        title: 'Keys to put',
        filters: { 'JSON / YAML / NDJSON': ['json', 'yaml', 'yml', 'ndjson', 'jsonl'] },
        canSelectMany: false,
      })
    )?.[0];
  }
}

function bulkFormat(uri: vscode.Uri, text: string): BulkFormat {
  if (/\.(ndjson|jsonl)$/i.test(uri.path)) return 'ndjson';
  if (/\.ya?ml$/i.test(uri.path)) return 'yaml';
  if (/\.json$/i.test(uri.path)) return 'json';
  const first = text.trimStart()[0];
  return first === '{' || first === '[' ? 'json' : 'yaml';
}
