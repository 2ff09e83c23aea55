import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';

describe('leases view', function () {
  const endpoints = testEndpoints();
  let answers: vscode.Disposable | undefined;
  let other: EtcdConnection;
  let leaseId: string;

  before(async () => {
    other = new EtcdConnection({ id: 'other', name: 'other', endpoints }, {}, silentLogger);
    const res = await other.write('grant', (c) => c.leaseClient.leaseGrant({ TTL: 120, ID: '0' }));
    leaseId = res.ID;
    await other.write('put', (c) => c.put('/lv/svc-1').value('a').lease(leaseId).exec());
    await other.write('put', (c) => c.put('/lv/svc-2').value('b').lease(leaseId).exec());
    const { connections } = await api();
    await connections.add({ id: 'leasesv', name: 'leasesv', endpoints });
  });

  after(async () => {
    const { connections } = await api();
    answers?.dispose();
    await connections.remove('leasesv');
    await other?.close();
  });

  it('lists leases with hex id, remaining TTL and keys, and expands to the keys', async () => {
    const { leaseTree } = await api();
    const root = (await leaseTree.getChildren()).find((n) => n.profileId === 'leasesv')!;
    const leases = await leaseTree.getChildren(root);
    const node = leases.find((n) => n.type === 'lease' && n.id === leaseId);
    assert.ok(node, 'lease listed');
    const item = leaseTree.getTreeItem(node);
    assert.equal(item.label, BigInt(leaseId).toString(16).padStart(16, '0'), 'as etcdctl prints it (%016x)');
    // The TTL left is whatever the time since the grant leaves (a busy machine takes seconds): not asserted.
    const left = /^(\d+) s \/ 120 s · 2 keys$/.exec(String(item.description));
    assert.ok(left && Number(left[1]) > 0 && Number(left[1]) <= 120, String(item.description));
    const keys = await leaseTree.getChildren(node);
    assert.deepEqual(keys.map((k) => (k.type === 'key' ? k.key.toString() : '')).sort(), ['/lv/svc-1', '/lv/svc-2']);
  });

  it('revoke asks first (showing the keys), does nothing when declined, and deletes the keys when confirmed', async () => {
    const { leaseTree, prompts } = await api();
    const node = leaseTree.leaseNode('leasesv', leaseId);
    const asked: string[] = [];
    answers = prompts.swap({
      confirm: async (message, detail) => {
        asked.push(`${message}\n${detail}`);
        return false;
      },
    });
    assert.equal(await vscode.commands.executeCommand('etcd.lease.revoke', node), false);
    assert.match(asked[0], /2 attached keys will be deleted/);
    assert.match(asked[0], /\/lv\/svc-1/);
    assert.equal(await other.call('get', (c) => c.get('/lv/svc-1').string()), 'a', 'declined: nothing deleted');

    answers.dispose();
    answers = prompts.swap({ confirm: async () => true });
    assert.equal(await vscode.commands.executeCommand('etcd.lease.revoke', node), true);
    assert.equal(await other.call('get', (c) => c.get('/lv/svc-1').string()), null, 'keys deleted with the lease');
    const root = (await leaseTree.getChildren()).find((n) => n.profileId === 'leasesv')!;
    const remaining = await leaseTree.getChildren(root);
    assert.ok(!remaining.some((n) => n.type === 'lease' && n.id === leaseId), 'the view updated');
  });
});
