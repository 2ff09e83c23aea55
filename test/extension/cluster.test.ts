import * as assert from 'node:assert/strict';
import { api, testEndpoints } from './api';

describe('cluster view', function () {
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

  it('member clients belong to the connection layer: one pool the view reuses, closed with the connection', async () => {
    const { connections, clusterTree } = await api();
    const pool = await connections.memberClients('clusterv');
    assert.equal(await connections.memberClients('clusterv'), pool, 'the same pool is handed out again');
    await clusterTree.snapshot('clusterv');
    // The view asked each member through the manager's pool: its client for the endpoint has answered.
    const member = pool.for(endpoints[0]);
    assert.equal(member.state, 'connected');
    await connections.disconnect('clusterv');
    assert.equal(member.state, 'disconnected', 'disconnecting closes the member clients too');
    assert.notEqual(await connections.memberClients('clusterv'), pool, 'a new connection gets a new pool');
  });
});
