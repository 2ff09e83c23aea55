import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import type { ConflictChoice, ConflictQuestion } from '../../src/host/prompts';

async function replaceAll(editor: vscode.TextEditor, text: string): Promise<void> {
  const doc = editor.document;
  const ok = await editor.edit((e) =>
    e.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text),
  );
  assert.ok(ok);
}

describe('values as editor documents', function () {
  const endpoints = testEndpoints();
  let other: EtcdConnection;
  const conflicts: ConflictQuestion[] = [];
  let answers: vscode.Disposable | undefined;
  let nextChoice: ConflictChoice = 'keepEditing';

  before(async () => {
    other = new EtcdConnection({ id: 'other', name: 'other', endpoints }, {}, silentLogger);
    const { connections, prompts } = await api();
    await connections.add({ id: 'vals', name: 'vals', endpoints });
    answers = prompts.swap({
      conflict: async (c) => {
        conflicts.push(c);
        return nextChoice;
      },
    });
  });

  after(async () => {
    const { connections } = await api();
    answers?.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await connections.remove('vals');
    await other?.close();
  });

  it('opens JSON as a JSON document and saves with compare-and-swap, keeping the lease', async () => {
    const lease = other.client.lease(120, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    await lease.put('/vals/app/config').value('{"replicas": 2}');
    const { values } = await api();
    const editor = await values.open('vals', Buffer.from('/vals/app/config'));
    assert.ok(editor);
    assert.equal(editor.document.languageId, 'json', 'language detected from content');
    assert.equal(editor.document.getText(), '{"replicas": 2}');
    await replaceAll(editor, '{"replicas": 3}');
    assert.ok(await editor.document.save(), 'saved');
    const after = (await other.call('get', (c) => c.kv.range({ key: Buffer.from('/vals/app/config') }))).kvs[0];
    assert.equal(after.value.toString(), '{"replicas": 3}');
    assert.equal(after.lease, leaseId, 'lease kept by the save');
    assert.equal(conflicts.length, 0);
    await lease.revoke();
  });

  it('detects a concurrent change on save, writes nothing, and overwrites only when asked', async () => {
    await other.write('put', (c) => c.put('/vals/feature.yaml').value('enabled: false\n').exec());
    const { values } = await api();
    const editor = (await values.open('vals', Buffer.from('/vals/feature.yaml')))!;
    assert.equal(editor.document.languageId, 'yaml');
    await other.write('put', (c) => c.put('/vals/feature.yaml').value('enabled: maybe\n').exec());

    await replaceAll(editor, 'enabled: true\n');
    nextChoice = 'keepEditing';
    assert.equal(await editor.document.save(), false, 'save refused');
    assert.equal(conflicts.length, 1);
    assert.equal(
      Buffer.from(conflicts[0].serverValue!).toString(),
      'enabled: maybe\n',
      'the conflict carries the server value',
    );
    assert.ok(editor.document.isDirty, 'edits kept');
    const server = async () => (await other.call('get', (c) => c.get('/vals/feature.yaml').string())) ?? '';
    assert.equal(await server(), 'enabled: maybe\n', 'nothing written');

    nextChoice = 'overwrite';
    assert.equal(await editor.document.save(), true);
    assert.equal(await server(), 'enabled: true\n');
    assert.equal(conflicts.length, 2);
    assert.ok(!editor.document.isDirty);
  });

  it('opens a binary value as a read-only hex view', async () => {
    await other.write('put', (c) =>
      c
        .put('/vals/blob')
        .value(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]))
        .exec(),
    );
    const { values } = await api();
    const editor = (await values.open('vals', Buffer.from('/vals/blob'), { asText: true }))!;
    assert.match(editor.document.getText(), /^00000000  de ad be ef 00 ff/);
    assert.equal(editor.document.uri.scheme, 'etcd-snapshot');
    const stat = await vscode.workspace.fs.stat(editor.document.uri);
    assert.equal(stat.permissions, vscode.FilePermission.Readonly);
  });

  it('deletes a top-level folder only after its preview is confirmed and its prefix typed exactly', async () => {
    await other.write('seed', (c) => c.put('/wipe/a').value('1').exec());
    await other.write('seed', (c) => c.put('/wipe/b/c').value('2').exec());
    const { keyTree, prompts } = await api();
    const asked: string[] = [];
    const typed: string[] = [];
    let typeIt = false;
    const swapped = prompts.swap({
      confirm: async (message) => {
        asked.push(message);
        return true;
      },
      typeToConfirm: async (_title, expected) => {
        typed.push(expected);
        return typeIt;
      },
    });
    const remaining = async () =>
      (await other.call('count', (c) => c.kv.range({ key: Buffer.from('/wipe/'), range_end: Buffer.from('/wipe0') })))
        .count;
    try {
      const folder = keyTree.nodeForKey('vals', Buffer.from('/wipe/'), 'folder');
      await vscode.commands.executeCommand('etcd.folder.delete', folder);
      assert.deepEqual(asked, ['Delete 2 keys under /wipe/?']);
      assert.deepEqual(typed, ['/wipe/'], 'a top-level folder asks for its prefix');
      assert.equal(await remaining(), '2', 'not typed: nothing deleted');

      typeIt = true;
      await vscode.commands.executeCommand('etcd.folder.delete', folder);
      assert.equal(typed.length, 2);
      assert.equal(await remaining(), '0', 'typed: the folder is gone');
    } finally {
      swapped.dispose();
    }
  });

  it('refuses an oversize value on save with a clear error and writes nothing', async () => {
    await other.write('put', (c) => c.put('/vals/small').value('x').exec());
    const { values } = await api();
    const editor = (await values.open('vals', Buffer.from('/vals/small')))!;
    await replaceAll(editor, 'y'.repeat(2 * 1024 * 1024));
    assert.equal(await editor.document.save(), false);
    assert.equal(await other.call('get', (c) => c.get('/vals/small').string()), 'x');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
