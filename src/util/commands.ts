import * as vscode from 'vscode';
import { errorText, isCancellation } from '../etcd/errors';

/** Shows an error's user-facing message; a cancellation is not an error and stays quiet. */
export function showError(err: unknown): void {
  if (isCancellation(err)) return;
  void vscode.window.showErrorMessage(errorText(err));
}

/** Registers a command whose failures are shown once as an error message (its result is returned otherwise). */
export function registerCommand(id: string, fn: (...args: any[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: any[]) => {
    try {
      return await fn(...args);
    } catch (err) {
      showError(err);
      return undefined;
    }
  });
}
