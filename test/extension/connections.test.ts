import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import type { TreeNode } from '../../src/keys/keyTreeProvider';

function labelOf(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

describe('connections in the extension host', function () {
  let seed: EtcdConnection;

  before(async () => {
    seed = new EtcdConnection({ id: 'seed', name: 'seed', endpoints: testEndpoints() }, {}, silentLogger);
    for (const key of ['/host/a/1', '/host/a/2', '/host/b', 'top-level']) {
      await seed.write('seed', (c) => c.put(key).value('v').exec());
    }
  });

  after(async () => {
    await seed?.close();
    const { connections } = await api();
    for (const p of [...connections.profiles]) await connections.remove(p.id);
  });

  it('contributes the etcd view and its commands', async () => {
    await api();
    const commands = await vscode.commands.getCommands(true);
    for (const id of [
      'etcd.connection.add',
      'etcd.connection.edit',
      'etcd.connection.remove',
      'etcd.connection.connect',
      'etcd.connection.disconnect',
    ]) {
      assert.ok(commands.includes(id), id);
    }
    await vscode.commands.executeCommand('etcd.connections.focus');
  });

  it('adds a profile to settings, keeps the password out of settings, and lists top-level keys', async () => {
    const { connections, keyTree } = await api();
    await connections.add(
      { id: 'host-test', name: 'host test', endpoints: testEndpoints(), username: 'nobody' },
      's3cret-pw',
    );
    const saved = vscode.workspace.getConfiguration('etcd').get<unknown[]>('connections', []);
    assert.ok(JSON.stringify(saved).includes('host test'), 'profile saved in settings');
    assert.ok(!JSON.stringify(saved).includes('s3cret-pw'), 'password not in settings');
    // Auth is not enabled on the test etcd, so a username with any password still connects: switch it off.
    await connections.update({ id: 'host-test', name: 'host test', endpoints: testEndpoints() }, null);

    const roots = await keyTree.getChildren();
    const root = roots.find((n) => n.type === 'connection' && n.profileId === 'host-test');
    assert.ok(root, 'connection node shown');
    const children = await keyTree.getChildren(root);
    const labels = children.map((n) => labelOf(keyTree.getTreeItem(n)));
    assert.deepEqual(labels, ['/', 'top-level']);
    assert.equal(connections.existing('host-test')?.state, 'connected');

    const slash = children[0] as TreeNode;
    const below = (await keyTree.getChildren(slash)).map((n) => labelOf(keyTree.getTreeItem(n)));
    assert.deepEqual(below, ['host/']);
  });

  it('connects and disconnects through the commands', async () => {
    const { connections } = await api();
    assert.equal(await vscode.commands.executeCommand('etcd.connection.connect', { profileId: 'host-test' }), true);
    assert.equal(connections.active?.profile.id, 'host-test');
    assert.ok(connections.active?.summary?.version.startsWith('3.'));
    await vscode.commands.executeCommand('etcd.connection.disconnect', { profileId: 'host-test' });
    assert.equal(connections.existing('host-test'), undefined);
  });

  it('shows an unreachable connection as an error node, not a crash', async () => {
    const { connections, keyTree } = await api();
    await connections.add({ id: 'dead', name: 'dead', endpoints: ['http://127.0.0.1:1'], timeoutMs: 500, retries: 0 });
    const root = (await keyTree.getChildren()).find((n) => n.type === 'connection' && n.profileId === 'dead');
    assert.ok(root);
    const children = await keyTree.getChildren(root);
    assert.equal(children.length, 1);
    assert.equal(children[0].type, 'message');
    assert.match(labelOf(keyTree.getTreeItem(children[0])), /unreachable/);
    assert.equal(connections.existing('dead')?.state, 'unreachable');
  });

  it('refuses writes through a read-only profile', async () => {
    const { connections } = await api();
    await connections.add({ id: 'ro', name: 'ro', endpoints: testEndpoints(), readOnly: true });
    const ro = await connections.get('ro');
    await assert.rejects(
      ro.write('put', (c) => c.put('/host/ro').value('x').exec()),
      /read-only/,
    );
    assert.equal(await seed.call('get', (c) => c.get('/host/ro').string()), null);
  });
});
