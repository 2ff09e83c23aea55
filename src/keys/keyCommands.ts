import * as vscode from 'vscode';
import { displayKey } from '../etcd/keyCodec';
import { Disposable } from '../util/disposable';
import { KeyTreeProvider, TreeNode } from './keyTreeProvider';

/** Commands on the key tree: refresh, load more, copy key. */
export class KeyCommands extends Disposable {
  constructor(tree: KeyTreeProvider) {
    super();
    this.register(vscode.commands.registerCommand('etcd.keys.refresh', (node?: TreeNode) => tree.refresh(node)));
    this.register(
      vscode.commands.registerCommand('etcd.keys.loadMore', (node: TreeNode) =>
        vscode.window.withProgress({ location: { viewId: 'etcd.connections' } }, () => tree.loadMore(node)),
      ),
    );
    this.register(
      vscode.commands.registerCommand('etcd.key.copy', async (node?: TreeNode) => {
        if (node && (node.type === 'key' || node.type === 'folder')) {
          await vscode.env.clipboard.writeText(displayKey(node.key));
        }
      }),
    );
  }
}
