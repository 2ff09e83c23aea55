import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';


describe('cluster view', function () {
  this.timeout(30_000);
  const endpoints = testEndpoints();

  before(async () => {
    const { connections } = await api();
    await connections.add({ id: 'clusterv', name: 'clusterv', endpoints });
  });
  after(async () => {
    const { connections } = await api();
    await connections.remove('clusterv');
  });

  it('shows each member with its own status, the leader marked, and the alarms', async () => {
    const { clusterTree } = await api();
    const root = (await clusterTree.getChildren()).find((n) => n.profileId === 'clusterv')!;
    const children = await clusterTree.getChildren(root);
    const members = children.filter((n) => n.type === 'member');
    assert.equal(members.length, 1);
    const item = clusterTree.getTreeItem(members[0]);
    assert.match(String(item.label), /★ leader$/);
    assert.match(String(item.description), /^[0-9a-f]+ · v3\.\d+\.\d+ · db .* · term \d+ · index \d+ \/ applied \d+$/);
    const alarms = children.find((n) => n.type === 'alarms')!;
    assert.equal(clusterTree.getTreeItem(alarms).label, 'No alarms');
    await clusterTree.refresh();
    assert.match(String(clusterTree.getTreeItem(root).description), /^1\/1 members up · v3\.\d+\.\d+$/);
  });
});
