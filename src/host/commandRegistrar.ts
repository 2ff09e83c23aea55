import * as vscode from 'vscode';
import type { ConnectionManager } from '../connections/connectionManager';
import { errorText, isCancellation } from '../etcd/errors';
import { CommandId } from './commandIds';

/** Shows an error's user-facing message; a cancellation is not an error and stays quiet. */
export function showError(err: unknown): void {
  if (isCancellation(err)) return;
  void vscode.window.showErrorMessage(errorText(err));
}

/**
 * The one way a command is registered: its id comes from the table in commandIds.ts, its failures are shown
 * once as an error message (cancelling is quiet), and its result is returned otherwise (tests use it).
 */
export function registerCommand(id: CommandId, fn: (...args: any[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: any[]) => {
    try {
      return await fn(...args);
    } catch (err) {
      showError(err);
      return undefined;
    }
  });
}

/** What a command is invoked with: a tree node (or anything naming a profile), a profile id, or nothing (palette). */
export type CommandTarget = string | { readonly profileId?: string } | undefined;

/**
 * The connection a command acts on: the one its argument names → the active connection → the only one → a
 * picker (titled `title`). `among` narrows the choice (e.g. connections with a report); `preferActive: false`
 * skips the active connection (commands that manage connections themselves). Undefined when the user cancels.
 */
export async function commandTarget(
  manager: ConnectionManager,
  arg: CommandTarget,
  title: string,
  options: { among?: readonly string[]; preferActive?: boolean } = {},
): Promise<string | undefined> {
  const named = typeof arg === 'string' ? arg : arg?.profileId;
  if (named) return named;
  const active = options.preferActive === false ? undefined : manager.active?.profile.id;
  if (active && (!options.among || options.among.includes(active))) return active;
  return manager.pickProfile(title, options.among);
}
