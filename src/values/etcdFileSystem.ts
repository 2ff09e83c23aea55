import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { EtcdExplorerError } from '../etcd/errors';
import { displayKey } from '../etcd/keyCodec';
import { CasResult, ValueRecord, casPut, readValue } from '../etcd/values';
import { ConflictQuestion, prompts } from '../host/prompts';
import { settings } from '../settings';
import { Disposable } from '../util/disposable';
import { hexDump } from './hexDump';
import { kubernetesInfo, renderKubernetesDocument } from './kubernetesDocument';
import { KUBERNETES_SCHEME, SNAPSHOT_SCHEME, VALUE_SCHEME, parseValueUri, valueUri } from './valueUris';

/**
 * Values as editor documents. Save is compare-and-swap against the mod_revision this editor read, keeping the
 * key's lease; on a conflict nothing is written and the user sees the server's value beside theirs.
 * The snapshot scheme serves read-only views: a value at a revision, or a hex dump of a binary value.
 */
export class EtcdFileSystem extends Disposable implements vscode.FileSystemProvider {
  private readonly changeEmitter = this.register(new vscode.EventEmitter<vscode.FileChangeEvent[]>());
  /** mod_revision each open value was read at: the base of its next CAS save. */
  private readonly seen = new Map<string, string>();

  readonly onDidChangeFile = this.changeEmitter.event;

  constructor(private readonly manager: ConnectionManager) {
    super();
    this.register(vscode.workspace.registerFileSystemProvider(VALUE_SCHEME, this, { isCaseSensitive: true }));
    this.register(
      vscode.workspace.registerFileSystemProvider(SNAPSHOT_SCHEME, this, { isCaseSensitive: true, isReadonly: true }),
    );
    this.register(
      vscode.workspace.registerFileSystemProvider(KUBERNETES_SCHEME, this, { isCaseSensitive: true, isReadonly: true }),
    );
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const record = await this.read(uri);
    // mtime is the revision this editor read, so VS Code does not run its own disk-conflict check; our CAS does.
    const seen = uri.scheme === VALUE_SCHEME ? this.seen.get(uri.toString()) : undefined;
    return {
      type: vscode.FileType.File,
      ctime: Number(record.createRevision),
      mtime: Number(seen ?? record.modRevision),
      size: record.value.length,
      permissions: uri.scheme !== VALUE_SCHEME || this.isReadOnly(uri) ? vscode.FilePermission.Readonly : undefined,
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const address = parseValueUri(uri);
    const record = await this.read(uri);
    if (uri.scheme === VALUE_SCHEME) this.seen.set(uri.toString(), record.modRevision);
    if (address.kubernetes) {
      const info = kubernetesInfo(record.value, address.key);
      if (!info)
        throw vscode.FileSystemError.FileNotFound(`${displayKey(address.key)} is no longer a Kubernetes object.`);
      return Buffer.from(renderKubernetesDocument(info, record, address.key, address.kubernetes.view), 'utf8');
    }
    return address.hex ? Buffer.from(hexDump(record.value), 'utf8') : record.value;
  }

  async writeFile(
    uri: vscode.Uri,
    content: Uint8Array,
    options: { create: boolean; overwrite: boolean },
  ): Promise<void> {
    if (uri.scheme !== VALUE_SCHEME) throw vscode.FileSystemError.NoPermissions('Snapshots are read-only.');
    const { profileId, key } = parseValueUri(uri);
    const registry = settings.kubernetesRegistryPrefix();
    if (registry && displayKey(key).startsWith(registry) && !(await confirmRegistryWrite(key, registry))) {
      throw vscode.FileSystemError.NoPermissions(
        `Not saved: ${displayKey(key)} is under the Kubernetes registry prefix ${registry}.`,
      );
    }
    const connection = await this.manager.get(profileId);
    const value = Buffer.from(content);
    const base = this.seen.get(uri.toString()) ?? (options.create ? '0' : undefined);
    if (base === undefined) throw vscode.FileSystemError.Unavailable('Open the value before saving it.');
    let expected: string = base;
    for (;;) {
      const result: CasResult = await casPut(connection, key, value, expected, {
        maxValueBytes: settings.maxValueBytes(),
      }).catch((err) => {
        throw asFsError(err);
      });
      if (result.ok) {
        this.seen.set(uri.toString(), result.revision);
        this.changeEmitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
        return;
      }
      const choice = await prompts.conflict(this.conflictQuestion(uri, key, expected, result.current));
      if (choice === 'overwrite') {
        // A new CAS against the value the user was just shown; if it moved again, ask again.
        expected = result.current?.modRevision ?? '0';
        continue;
      }
      if (choice === 'discard') {
        this.seen.delete(uri.toString());
        setTimeout(() => void revert(uri), 0);
      }
      throw vscode.FileSystemError.Unavailable(
        `Not saved: ${displayKey(key)} changed on the server (now ${result.current ? `revision ${result.current.modRevision}` : 'deleted'}). ` +
          (choice === 'discard' ? 'Your changes were discarded.' : 'Your edits are still in the editor.'),
      );
    }
  }

  readDirectory(): [string, vscode.FileType][] {
    throw vscode.FileSystemError.NoPermissions('etcd values are files; browse keys in the etcd view.');
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('etcd has no directories; create a key instead.');
  }

  delete(): void {
    throw vscode.FileSystemError.NoPermissions('Delete keys from the etcd view (guarded by revision).');
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions('Rename keys from the etcd view (one guarded Txn).');
  }

  private isReadOnly(uri: vscode.Uri): boolean {
    return this.manager.profile(parseValueUri(uri).profileId)?.readOnly === true;
  }

  private async read(uri: vscode.Uri): Promise<ValueRecord> {
    const { profileId, key, revision } = parseValueUri(uri);
    const connection = await this.manager.get(profileId);
    const record = await readValue(connection, key, revision).catch((err) => {
      throw asFsError(err);
    });
    if (!record)
      throw vscode.FileSystemError.FileNotFound(
        `${displayKey(key)} does not exist${revision ? ` at revision ${revision}` : ''}.`,
      );
    return record;
  }

  /** The question after a conflicting save; comparing shows the server's value beside the user's. */
  private conflictQuestion(
    uri: vscode.Uri,
    key: Buffer,
    seenModRevision: string,
    current: ValueRecord | undefined,
  ): ConflictQuestion {
    const { profileId } = parseValueUri(uri);
    const shown = displayKey(key);
    return {
      message: current
        ? `${shown} changed on the server since you opened it (revision ${seenModRevision} → ${current.modRevision}). Nothing was written.`
        : `${shown} was deleted on the server since you opened it. Nothing was written.`,
      deleted: !current,
      serverValue: current?.value,
      compare: async () => {
        if (!current) return;
        const serverSide = valueUri({ profileId, key, revision: current.modRevision }, SNAPSHOT_SCHEME);
        await vscode.commands.executeCommand(
          'vscode.diff',
          serverSide,
          uri,
          `${shown}: server (revision ${current.modRevision}) ↔ yours`,
          { preview: false },
        );
      },
    };
  }
}

/** Writes under the registry skip everything the API server does for a change; say so before each one. */
function confirmRegistryWrite(key: Buffer, prefix: string): Promise<boolean> {
  return prompts.confirm(
    `${displayKey(key)} is under the Kubernetes registry prefix ${prefix}. Writing it directly bypasses the API server.`,
    "Admission control, validation, defaulting and the API server's watch caches do not see this write; " +
      'controllers and kubectl may keep acting on the old object until the API server re-reads it.',
    'Write Anyway',
  );
}

async function revert(uri: vscode.Uri): Promise<void> {
  const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  if (editor) {
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
}

function asFsError(err: unknown): Error {
  if (err instanceof EtcdExplorerError) {
    if (err.kind === 'readOnly' || err.kind === 'permission') return vscode.FileSystemError.NoPermissions(err.message);
    return vscode.FileSystemError.Unavailable(err.message);
  }
  return err instanceof Error ? err : new Error(String(err));
}
