import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { HIDDEN_COMMAND_IDS } from '../../src/host/commandIds';
import { api } from './api';

describe('command registration (extension host)', () => {
  it('registers every contributed command, and registers nothing else but deliberately hidden ones', async () => {
    await api();
    const extension = vscode.extensions.getExtension('etcd-explorer.etcd-explorer')!;
    const contributes = extension.packageJSON.contributes;
    const contributed: string[] = contributes.commands.map((c: { command: string }) => c.command);
    // The workbench adds <view id>.focus, .resetViewLocation … for each contributed view: not ours to list.
    const views: string[] = Object.values(contributes.views as Record<string, Array<{ id: string }>>).flatMap((v) =>
      v.map((x) => x.id),
    );
    const workbench = new Set(
      views.flatMap((v) =>
        ['focus', 'resetViewLocation', 'toggleVisibility', 'removeView', 'open'].map((s) => `${v}.${s}`),
      ),
    );
    const registered = (await vscode.commands.getCommands(true)).filter(
      (id) => id.startsWith('etcd.') && !workbench.has(id),
    );
    assert.deepEqual(
      contributed.filter((id) => !registered.includes(id)),
      [],
      'contributed but not registered',
    );
    assert.deepEqual(
      registered.filter((id) => !contributed.includes(id) && !HIDDEN_COMMAND_IDS.includes(id)),
      [],
      'registered but not contributed',
    );
  });
});
