import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ExtensionApi } from '../../src/api';
import { api, testEndpoints } from './api';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import type { TreeNode } from '../../src/keys/keyTreeProvider';
import { until } from '../rig/wait';

function label(tree: ExtensionApi['keyTree'], node: TreeNode): string {
  const item = tree.getTreeItem(node);
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

async function childNamed(tree: ExtensionApi['keyTree'], parent: TreeNode, name: string): Promise<TreeNode> {
  const children = await tree.getChildren(parent);
  const found = children.find((c) => label(tree, c) === name);
  assert.ok(found, `"${name}" among ${children.map((c) => label(tree, c)).join(', ')}`);
  return found;
}

describe('key tree in the extension host', function () {
  const endpoints = testEndpoints();
  let seed: EtcdConnection;

  before(async () => {
    seed = new EtcdConnection({ id: 'seed', name: 'seed', endpoints }, {}, silentLogger);
    const keys: Buffer[] = [];
    for (let i = 0; i < 1234; i++) keys.push(Buffer.from(`/tree/big/item-${String(i).padStart(4, '0')}`));
    for (const k of ['/tree/a/x', '/tree/a/y/z', '/tree/a', '/tree/live/one']) keys.push(Buffer.from(k));
    for (let i = 0; i < keys.length; i += 128) {
      const batch = keys.slice(i, i + 128);
      await seed.write('seed', (c) =>
        c.kv.txn({
          compare: [],
          success: batch.map((key) => ({ request_put: { key, value: Buffer.from('v') } })),
          failure: [],
        }),
      );
    }
    await vscode.workspace.getConfiguration('etcd').update('keys.pageSize', 500, vscode.ConfigurationTarget.Global);
    const { connections } = await api();
    await connections.add({ id: 'tree', name: 'tree', endpoints, namespace: '/tree/' });
  });

  after(async () => {
    const { connections } = await api();
    await connections.remove('tree');
    await vscode.workspace
      .getConfiguration('etcd')
      .update('keys.pageSize', undefined, vscode.ConfigurationTarget.Global);
    await seed?.close();
  });

  it('expands folders, shows a key that is also a folder prefix, and pages a large folder with Load more', async () => {
    const { keyTree } = await api();
    const root = keyTree.connectionNode('tree');
    const top = (await keyTree.getChildren(root)).map((n) => label(keyTree, n));
    assert.deepEqual(top, ['a', 'a/', 'big/', 'live/']);
    const a = await childNamed(keyTree, root, 'a/');
    assert.deepEqual(
      (await keyTree.getChildren(a)).map((n) => label(keyTree, n)),
      ['x', 'y/'],
    );

    const big = await childNamed(keyTree, root, 'big/');
    let children = await keyTree.getChildren(big);
    assert.equal(children.length, 501, '500 keys and a Load more node');
    assert.equal(children[500].type, 'more');
    await vscode.commands.executeCommand('etcd.keys.loadMore', children[500]);
    children = await keyTree.getChildren(big);
    assert.equal(children.length, 1001);
    await vscode.commands.executeCommand('etcd.keys.loadMore', children[1000]);
    children = await keyTree.getChildren(big);
    assert.equal(children.length, 1234, 'every key, no Load more left');
    const names = children.map((n) => label(keyTree, n));
    assert.equal(new Set(names).size, 1234);
    assert.equal(names[0], 'item-0000');
    assert.equal(names[1233], 'item-1233');
    assert.match(keyTree.getTreeItem(big).description as string, /^1,234 keys/);
  });

  it('keeps an expanded small folder current through its watch', async () => {
    const { keyTree } = await api();
    const live = await childNamed(keyTree, keyTree.connectionNode('tree'), 'live/');
    assert.deepEqual(
      (await keyTree.getChildren(live)).map((n) => label(keyTree, n)),
      ['one'],
    );
    await seed.write('put', (c) => c.put('/tree/live/two').value('2').exec());
    await until(async () => (await keyTree.getChildren(live)).map((n) => label(keyTree, n)).join() === 'one,two');
    await seed.write('delete', (c) => c.delete().key('/tree/live/one').exec());
    await until(async () => (await keyTree.getChildren(live)).map((n) => label(keyTree, n)).join() === 'two');
  });

  it('re-expanding a cached folder sends no query', async () => {
    const { keyTree, connections } = await api();
    const connection = await connections.get('tree');
    let calls = 0;
    const sub = connection.onDidCall(() => calls++);
    const a = await childNamed(keyTree, keyTree.connectionNode('tree'), 'a/');
    await keyTree.getChildren(a);
    sub.dispose();
    assert.equal(calls, 0);
  });

  it('a changed etcd.keys.separator re-splits folders that were already listed', async () => {
    const { keyTree } = await api();
    const root = keyTree.connectionNode('tree');
    assert.deepEqual(
      (await keyTree.getChildren(root)).map((n) => label(keyTree, n)),
      ['a', 'a/', 'big/', 'live/'],
    );
    const config = vscode.workspace.getConfiguration('etcd');
    try {
      await config.update('keys.separator', '-', vscode.ConfigurationTarget.Global);
      // With "-" the keys under /tree/ split only at "item-": everything else is a key of its own.
      await until(
        async () => (await keyTree.getChildren(root)).map((n) => label(keyTree, n)).includes('big/item-'),
        60_000,
        'the tree to list big/item- after the separator changed',
      );
      const names = (await keyTree.getChildren(root)).map((n) => label(keyTree, n));
      assert.deepEqual(names, ['a', 'a/x', 'a/y/z', 'big/item-', 'live/two']);
    } finally {
      await config.update('keys.separator', undefined, vscode.ConfigurationTarget.Global);
    }
    await until(
      async () => (await keyTree.getChildren(root)).map((n) => label(keyTree, n)).join() === 'a,a/,big/,live/',
      60_000,
      'the tree to split at "/" again',
    );
  });

  it('filters a connection to a prefix and reveals a key found with Go to Key', async () => {
    const { keyTree } = await api();
    keyTree.setFilter('tree', Buffer.from('a/'));
    const root = keyTree.connectionNode('tree');
    assert.deepEqual(
      (await keyTree.getChildren(root)).map((n) => label(keyTree, n)),
      ['x', 'y/'],
    );
    keyTree.setFilter('tree', undefined);
    assert.deepEqual(
      (await keyTree.getChildren(root)).map((n) => label(keyTree, n)),
      ['a', 'a/', 'big/', 'live/'],
    );
    const node = keyTree.nodeForKey('tree', Buffer.from('a/y/z'), 'key');
    const parent = keyTree.getParent(node);
    assert.ok(parent && parent.type === 'folder' && parent.key.toString() === 'a/y/');
  });
});
