import * as assert from 'node:assert/strict';
import { api, testEndpoints } from './api';
import type { HealthNode } from '../../src/health/healthTreeProvider';
import { escapeMarkdown } from '../../src/etcd/health/report';

describe('health doctor (extension host)', function () {
  const endpoints = testEndpoints();
  const bigKey = Buffer.from('/healthv/big-value');

  before(async () => {
    const { connections } = await api();
    await connections.add({ id: 'healthv', name: 'healthv', endpoints });
  });
  after(async () => {
    const { connections } = await api();
    const conn = await connections.get('healthv');
    await conn.write('cleanup', (c) => c.delete().key(bigKey).exec()).catch(() => undefined);
    await connections.remove('healthv');
  });

  it('reports a very large value in the Health view, the report document and the status bar, and clears it once deleted', async () => {
    const { connections, healthCommands, reports } = await api();
    const conn = await connections.get('healthv');
    await conn.write('put a large value', (c) =>
      c
        .put(bigKey)
        .value(Buffer.alloc(1024 * 1024, 0x61))
        .exec(),
    );

    const report = await healthCommands.check('healthv');
    assert.ok(report, 'a report');
    const large = report.findings.find((f) => f.rule === 'largeValues');
    assert.ok(large, `largeValues finding expected, got ${JSON.stringify(report.findings.map((f) => f.rule))}`);
    assert.ok(
      large.evidence.some((e) => e.includes('/healthv/big-value')),
      large.evidence.join('\n'),
    );
    assert.match(healthCommands.statusText ?? '', /etcd: \d+ health finding/);

    const tree = (await api()).healthTree;
    const root = tree.getChildren().find((n: HealthNode) => n.profileId === 'healthv')!;
    const rootItem = tree.getTreeItem(root);
    assert.match(String(rootItem.description), /checked/);
    const findings = tree.getChildren(root).filter((n: HealthNode) => n.type === 'finding');
    const node = findings.find((n: HealthNode) => n.type === 'finding' && n.finding.rule === 'largeValues')!;
    assert.ok(node, 'the finding is in the tree');
    assert.equal(
      tree.getTreeItem(node).contextValue,
      'etcd.health.finding.largeValues',
      'menus offer per-rule actions',
    );
    const details = tree.getChildren(node);
    assert.ok(details.some((d: HealthNode) => d.type === 'detail' && d.kind === 'remedy'));

    const uri = await healthCommands.openReport('healthv');
    assert.ok(uri);
    const text = reports.text(uri)!;
    assert.match(text, /healthv/);
    assert.ok(text.includes(escapeMarkdown(large.title)), 'the report lists the finding');

    await conn.write('delete the large value', (c) => c.delete().key(bigKey).exec());
    const after = await healthCommands.check('healthv');
    assert.ok(after && !after.findings.some((f) => f.rule === 'largeValues'), 'the finding is gone after the delete');
    const refreshed = reports.text(uri)!;
    const [findingsPart, rest] = refreshed.split('## Members');
    assert.ok(!findingsPart.includes(escapeMarkdown(large.title)), 'the open report was refreshed');
    // The timeline keeps the episode: started, fired (a fact: no for:), resolved at the check after the delete.
    const row = rest.split('\n').find((l) => l.includes(escapeMarkdown(large.title)));
    assert.match(
      row ?? '',
      /^\| Very large values\\: .* \| [\d\\:]+ \| [\d\\:]+ \\\(warning\\\) \| [\d\\:]+ \|$/,
      refreshed,
    );
    // The Health view's timeline says the same.
    const refreshedRoot = tree.getChildren().find((n: HealthNode) => n.profileId === 'healthv')!;
    const timeline = tree.getChildren(refreshedRoot).find((n: HealthNode) => n.type === 'timeline');
    assert.ok(timeline, 'a Timeline node');
    const texts = tree.getChildren(timeline).map((n: HealthNode) => (n.type === 'detail' ? n.text : ''));
    assert.ok(
      texts.some((t: string) =>
        /^Very large values: .* — started [\d:]+, fired [\d:]+ \(warning\), resolved [\d:]+$/.test(t),
      ),
      texts.join('\n'),
    );
  });
});
