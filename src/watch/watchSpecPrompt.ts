import * as vscode from 'vscode';
import { displayKey, parseDisplayKey } from '../etcd/keyCodec';
import { WatchSpec } from '../etcd/watch';
import { TreeNode } from '../keys/keyTreeProvider';

/** Asks what to watch: key or prefix (prefilled from a tree node), exact or prefix, from now or a revision. */
export async function askWatchSpec(node: TreeNode | undefined): Promise<WatchSpec | undefined> {
  const initial = node && (node.type === 'key' || node.type === 'folder') ? displayKey(node.key) : '';
  const keyText = await vscode.window.showInputBox({
    title: 'Watch key or prefix',
    prompt:
      'A key, or a prefix ending in the separator (e.g. /registry/). \\xNN for raw bytes; empty watches every key.',
    value: initial,
    // A multi-step question: a tree refresh or a toast taking focus must not throw the answer away.
    ignoreFocusOut: true,
  });
  if (keyText === undefined) return undefined;
  const key = parseDisplayKey(keyText);
  const mode = await vscode.window.showQuickPick(
    [
      { label: 'Prefix', description: 'every key starting with it', prefix: true },
      { label: 'Exact key', prefix: false },
    ].sort((a) => ((node?.type === 'key') === !a.prefix ? -1 : 1)),
    { title: `Watch ${keyText || '(all keys)'} as…`, ignoreFocusOut: true },
  );
  if (!mode) return undefined;
  const from = await vscode.window.showQuickPick(
    [
      { label: 'From now', revision: undefined as string | undefined },
      { label: 'From a revision… (replay history)', revision: 'ask' },
    ],
    { title: 'Start', ignoreFocusOut: true },
  );
  if (!from) return undefined;
  let startRevision: string | undefined;
  if (from.revision) {
    startRevision = await vscode.window.showInputBox({
      title: 'Replay from revision',
      ignoreFocusOut: true,
      validateInput: (v) => (/^\d+$/.test(v) && v !== '0' ? undefined : 'Enter a revision number.'),
    });
    if (!startRevision) return undefined;
  }
  return { key, prefix: mode.prefix || key.length === 0, startRevision };
}
