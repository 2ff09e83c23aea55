import * as vscode from 'vscode';
import { errorText } from '../etcd/errors';
import { Logger, componentLogger } from '../etcd/logger';
import type { KeyTreeProvider, TreeNode } from '../keys/keyTreeProvider';
import { settings } from '../settings';
import { ConnectionManager } from './connectionManager';

/**
 * `etcd.autoConnect`: the connections (by id or name) opened when the window starts. Each is revealed expanded
 * in the etcd view, which shows the view and connects it to list its top-level keys; nothing is focused.
 */
export async function autoConnect(
  manager: ConnectionManager,
  keyTree: KeyTreeProvider,
  view: vscode.TreeView<TreeNode>,
  baseLog: Logger,
): Promise<void> {
  const wanted = new Set(settings.autoConnect());
  if (wanted.size === 0) return;
  const log = componentLogger(baseLog, 'autoConnect');
  const profiles = manager.profiles.filter((p) => wanted.has(p.id) || wanted.has(p.name));
  if (profiles.length === 0) log.warn(`no saved connection is named ${[...wanted].join(', ')}`);
  for (const profile of profiles) {
    try {
      await view.reveal(keyTree.connectionNode(profile.id), { expand: true, select: false, focus: false });
    } catch (err) {
      log.warn(`could not open ${profile.name}: ${errorText(err)}`);
    }
  }
}
