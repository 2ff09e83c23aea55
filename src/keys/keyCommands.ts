import * as vscode from 'vscode';
import { ConnectionManager } from '../connections/connectionManager';
import { errorText, isCancellation } from '../etcd/errors';
import { displayKey, parseDisplayKey } from '../etcd/keyCodec';
import { countKeys, searchKeys } from '../etcd/keyInfo';
import { settings } from '../settings';
import { CommandId } from '../host/commandIds';
import { commandTarget, registerCommand, showError } from '../host/commandRegistrar';
import { Disposable, toAbortSignal } from '../util/disposable';
import { KeyTreeProvider, TreeNode } from './keyTreeProvider';

const SEARCH_LIMIT = 50;

/** Commands on the key tree: refresh, load more, go to key, filter, count, copy. */
export class KeyCommands extends Disposable {
  constructor(
    private readonly manager: ConnectionManager,
    private readonly tree: KeyTreeProvider,
    private readonly view: vscode.TreeView<TreeNode>,
  ) {
    super();
    const cmd = (id: CommandId, fn: (...args: any[]) => unknown) => this.register(registerCommand(id, fn));
    cmd('etcd.keys.refresh', (node?: TreeNode) => tree.refresh(node));
    cmd('etcd.keys.loadMore', (node: TreeNode) =>
      vscode.window.withProgress({ location: { viewId: 'etcd.connections' } }, () =>
        tree.loadMore(node).catch(showError),
      ),
    );
    cmd('etcd.key.copy', async (node?: TreeNode) => {
      if (node && (node.type === 'key' || node.type === 'folder'))
        await vscode.env.clipboard.writeText(displayKey(node.key));
    });
    cmd('etcd.keys.goTo', (node?: TreeNode) => this.goToKey(node));
    cmd('etcd.keys.filter', (node?: TreeNode) => this.filter(node));
    cmd('etcd.keys.clearFilter', (node?: TreeNode) => node && tree.setFilter(node.profileId, undefined));
    cmd('etcd.keys.count', (node?: TreeNode) => this.count(node));
  }

  private profileOf(node: TreeNode | undefined): Promise<string | undefined> {
    return commandTarget(this.manager, node, 'Which connection?');
  }

  /** Quick pick that searches keys by prefix on the server as the user types (keys-only, limited). */
  private async goToKey(node?: TreeNode): Promise<void> {
    const profileId = await this.profileOf(node);
    if (!profileId) return;
    const connection = await this.manager.get(profileId);
    type Item = vscode.QuickPickItem & { key?: Buffer };
    const quickPick = vscode.window.createQuickPick<Item>();
    quickPick.title = `Go to key in ${connection.profile.name}`;
    quickPick.placeholder = 'Type the start of a key (\\xNN for raw bytes)';
    quickPick.matchOnDescription = false;
    let generation = 0;
    let controller: AbortController | undefined;
    const search = async (text: string) => {
      const mine = ++generation;
      controller?.abort();
      controller = new AbortController();
      quickPick.busy = true;
      try {
        const result = await searchKeys(connection, parseDisplayKey(text), SEARCH_LIMIT, controller.signal);
        if (mine !== generation) return;
        const items: Item[] = result.keys.map((key) => ({ label: displayKey(key), key, alwaysShow: true }));
        if (result.total > result.keys.length) {
          items.push({
            label: `…${(result.total - result.keys.length).toLocaleString()} more keys; type more to narrow`,
            alwaysShow: true,
          });
        }
        if (items.length === 0) items.push({ label: 'No key starts with this', alwaysShow: true });
        quickPick.items = items;
      } catch (err) {
        if (!isCancellation(err) && mine === generation)
          quickPick.items = [{ label: errorText(err), alwaysShow: true }];
      } finally {
        if (mine === generation) quickPick.busy = false;
      }
    };
    quickPick.onDidChangeValue((text) => void search(text));
    const picked = new Promise<Buffer | undefined>((resolve) => {
      quickPick.onDidAccept(() => {
        resolve(quickPick.selectedItems[0]?.key);
        quickPick.hide();
      });
      quickPick.onDidHide(() => resolve(undefined));
    });
    quickPick.show();
    void search('');
    const key = await picked;
    quickPick.dispose();
    controller?.abort();
    if (!key) return;
    await this.reveal(profileId, key);
  }

  /** Expands the folders down to `key` and selects it; keys beyond the loaded page get a clear message. */
  async reveal(profileId: string, key: Buffer): Promise<boolean> {
    const filter = this.tree.filter(profileId);
    if (filter && !key.subarray(0, filter.length).equals(filter)) this.tree.setFilter(profileId, undefined);
    const target = this.tree.nodeForKey(profileId, key, 'key');
    // Load each ancestor's listing so the element exists in the tree before reveal.
    const chain: TreeNode[] = [];
    for (let n: TreeNode | undefined = this.tree.getParent(target); n; n = this.tree.getParent(n)) chain.unshift(n);
    for (const ancestor of chain) {
      const children = await this.tree.getChildren(ancestor);
      if (ancestor === chain[chain.length - 1] && !children.includes(target)) {
        void vscode.window.showInformationMessage(
          `"${displayKey(key)}" is past the loaded page of its folder. Use "Load more…" there, or Filter to Prefix.`,
        );
        await this.view.reveal(ancestor, { expand: true, select: true, focus: true });
        return false;
      }
    }
    await this.view.reveal(target, { select: true, focus: true });
    return true;
  }

  private async filter(node?: TreeNode): Promise<void> {
    const profileId = await this.profileOf(node);
    if (!profileId) return;
    const initial =
      node?.type === 'folder' ? displayKey(node.key) : displayKey(this.tree.filter(profileId) ?? Buffer.alloc(0));
    const text =
      node?.type === 'folder'
        ? initial
        : await vscode.window.showInputBox({
            title: 'Filter the tree to a prefix',
            prompt: `Only keys starting with this prefix are listed (separator "${settings.separator()}"). Empty clears the filter.`,
            value: initial,
          });
    if (text === undefined) return;
    this.tree.setFilter(profileId, text ? parseDisplayKey(text) : undefined);
    await this.view.reveal(this.tree.connectionNode(profileId), { expand: true });
  }

  private async count(node?: TreeNode): Promise<void> {
    if (!node || (node.type !== 'folder' && node.type !== 'connection')) return;
    const connection = await this.manager.get(node.profileId);
    const prefix = node.type === 'folder' ? node.key : (this.tree.filter(node.profileId) ?? Buffer.alloc(0));
    try {
      const n = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Counting keys under ${displayKey(prefix) || 'the root'}…`,
          cancellable: true,
        },
        (_p, token) => countKeys(connection, prefix, toAbortSignal(token)),
      );
      void vscode.window.showInformationMessage(
        `${n.toLocaleString()} key${n === 1 ? '' : 's'} under "${displayKey(prefix) || '(root)'}".`,
      );
    } catch (err) {
      showError(err);
    }
  }
}
