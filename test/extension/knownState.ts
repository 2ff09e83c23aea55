import * as vscode from 'vscode';

/**
 * The state every test file starts from: no quick input and no open editor. Editors with unsaved changes are
 * left alone (closing them would ask, and reverting one whose connection is gone fails); a test never waits on
 * one it did not open itself.
 */
export async function knownState(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => !t.isDirty);
  if (tabs.length) await vscode.window.tabGroups.close(tabs);
}
