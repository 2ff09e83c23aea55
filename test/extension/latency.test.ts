import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until } from '../rig/wait';
import { api, testEndpoints } from './api';

describe('latency panel (extension host)', function () {
  const endpoints = testEndpoints();

  before(async () => {
    const { connections } = await api();
    await connections.add({ id: 'latv', name: 'latv', endpoints });
    await vscode.workspace
      .getConfiguration('etcd')
      .update('latency.intervalMs', 250, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    const { connections, latency } = await api();
    latency.openPanels.forEach((p) => p.dispose());
    await vscode.workspace
      .getConfiguration('etcd')
      .update('latency.intervalMs', undefined, vscode.ConfigurationTarget.Global);
    await connections.remove('latv');
  });

  it('probes every op of the member, records own operations, scrapes /metrics, and exports it all', async () => {
    const { latency, connections } = await api();
    const panel = await latency.open('latv');
    assert.ok(panel);
    await until(
      () => {
        const last = panel.history[panel.history.length - 1];
        return !!last && last.probes.length === 4 && last.probes.every((p) => p.stats.count >= 2);
      },
      60_000,
      'every probe op has samples',
    );
    const last = panel.history[panel.history.length - 1];
    assert.deepEqual(last.probes.map((p) => p.op).sort(), [
      'putDelete',
      'rangeLinearizable',
      'rangeSerializable',
      'status',
    ]);
    for (const p of last.probes) {
      assert.ok(
        p.stats.p50 !== null && p.stats.p50 > 0 && p.stats.p99! >= p.stats.p50,
        `${p.op}: ${JSON.stringify(p.stats)}`,
      );
      assert.equal(
        p.histogram.counts.reduce((a, b) => a + b, 0),
        p.stats.count - p.stats.errors - p.stats.timeouts,
      );
    }

    // The extension's own calls on this connection show up by type.
    const conn = await connections.get('latv');
    await conn.call('list keys', (c) =>
      c.kv.range({ key: Buffer.from('/'), range_end: Buffer.from('0'), keys_only: true, limit: 10 }),
    );
    await until(
      () =>
        (panel.history[panel.history.length - 1]?.own ?? []).some((o) => o.op === 'list keys' && o.stats.count >= 1),
      60_000,
      'own op recorded',
    );

    await until(() => panel.metricsHistory.filter((m) => m.ok).length >= 2, 60_000, 'two /metrics scrapes');
    const scraped = panel.metricsHistory.filter((m) => m.ok);
    const values = scraped[scraped.length - 1].values;
    for (const name of ['wal_fsync_p99_ms', 'backend_commit_p99_ms', 'db_size_bytes', 'db_size_in_use_bytes']) {
      assert.ok(Number.isFinite(values[name]), `${name} in ${Object.keys(values).join(', ')}`);
    }

    const csv = panel.exportText('csv').split('\n');
    assert.equal(csv[0], 'time,source,endpoint,series,value');
    assert.ok(csv.some((l) => l.includes(',probe,') && l.includes('rangeSerializable.p99')));
    assert.ok(csv.some((l) => l.includes(',metrics,') && l.includes('wal_fsync_p99_ms')));
    const json = JSON.parse(panel.exportText('json'));
    assert.equal(json.ticks.length, panel.history.length);
  });

  it('runs a load test under the scratch prefix and deletes everything it wrote', async () => {
    const { latency, connections, prompts } = await api();
    const panel = latency.openPanels[0];
    const asked: string[] = [];
    const answers = prompts.swap({
      confirm: async (message, _detail, action) => {
        asked.push(message);
        return action === 'Run Load Test';
      },
    });
    const message = await panel.loadTest('s').finally(() => answers.dispose());
    assert.match(asked[0] ?? '', /^Run the .* load test against latv\?$/, 'asked before writing');
    assert.match(message ?? '', /Wrote [\d,]+ keys .* writes\/s.* deleted [\d,]+ keys afterwards/);
    const conn = await connections.get('latv');
    const prefix = Buffer.from(vscode.workspace.getConfiguration('etcd').get<string>('latency.loadTestPrefix')!);
    const left = await conn.call('count', (c) =>
      c.kv.range({
        key: prefix,
        range_end: Buffer.concat([prefix.subarray(0, -1), Buffer.from([prefix[prefix.length - 1] + 1])]),
        count_only: true,
      }),
    );
    assert.equal(Number(left.count), 0, 'nothing left under the load test prefix');
  });
});
