import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';

describe('Txn documents and bulk operations (extension host)', function () {
  const endpoints = testEndpoints();
  let answers: vscode.Disposable | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'etcd-txn-'));

  before(async () => {
    const { connections } = await api();
    await connections.add({ id: 'txnv', name: 'txnv', endpoints });
  });
  after(async () => {
    const { connections } = await api();
    answers?.dispose();
    const conn = await connections.get('txnv');
    await conn.write('cleanup', (c) => c.delete().prefix('/txnv/').exec()).catch(() => undefined);
    await connections.remove('txnv');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, text: string): Promise<vscode.TextDocument> {
    const file = join(dir, name);
    writeFileSync(file, text);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.window.showTextDocument(doc);
    return doc;
  }

  it('marks a 129-op branch with a positioned diagnostic and never sends it', async () => {
    const { txnDocuments, connections } = await api();
    const puts = Array.from({ length: 129 }, (_, i) => `  - put: { key: /txnv/over/${i}, value: "v" }`).join('\n');
    const doc = await open('over.etcdtxn.yaml', `success:\n${puts}\n`);
    txnDocuments.setConnection(doc.uri, 'txnv');
    const diagnostics = txnDocuments.validate(doc)!;
    const tooMany = diagnostics.find((d) => /129/.test(d.message) && /128/.test(d.message));
    assert.ok(tooMany, diagnostics.map((d) => d.message).join('\n'));
    assert.equal(tooMany.severity, vscode.DiagnosticSeverity.Error);
    assert.ok(vscode.languages.getDiagnostics(doc.uri).length >= 1, 'published to the Problems panel');

    const conn = await connections.get('txnv');
    let calls = 0;
    const sub = conn.onDidCall(() => calls++);
    const result = await vscode.commands.executeCommand('etcd.txn.run', doc.uri);
    sub.dispose();
    assert.equal(result, undefined, 'the run was refused');
    assert.equal(calls, 0, 'nothing was sent');
    const count = await conn.call('count', (c) =>
      c.kv.range({ key: Buffer.from('/txnv/over/'), range_end: Buffer.from('/txnv/over0'), count_only: true }),
    );
    assert.equal(count.count, '0');
  });

  it('runs a guarded Txn document through its CodeLens, and the other branch once the key changed', async () => {
    const { txnDocuments, reports, connections } = await api();
    const conn = await connections.get('txnv');
    await conn.write('seed', (c) => c.put('/txnv/flag').value('off').exec());
    const doc = await open(
      'guarded.etcdtxn.yaml',
      [
        'compare:',
        '  - key: /txnv/flag',
        '    target: value',
        '    op: "=="',
        '    value: "off"',
        'success:',
        '  - put: { key: /txnv/flag, value: "on" }',
        '  - put: { key: /txnv/audit, value: "switched" }',
        'failure:',
        '  - get: { key: /txnv/flag }',
        '',
      ].join('\n'),
    );
    txnDocuments.setConnection(doc.uri, 'txnv');
    assert.deepEqual(
      txnDocuments.validate(doc)!.filter((d) => d.severity === vscode.DiagnosticSeverity.Error),
      [],
    );

    const lenses =
      (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)) ?? [];
    const dry = lenses.find((l) => l.command?.command === 'etcd.txn.dryRun');
    const run = lenses.find((l) => l.command?.command === 'etcd.txn.run');
    assert.ok(dry && run, lenses.map((l) => l.command?.title).join(', '));
    assert.match(run.command!.title, /Run against txnv/);

    const dryUri = (await vscode.commands.executeCommand<vscode.Uri>(
      dry.command!.command,
      ...(dry.command!.arguments ?? []),
    )) as vscode.Uri;
    assert.match(reports.text(dryUri)!, /wouldSucceed: true/);
    assert.equal(await conn.call('get', (c) => c.get('/txnv/flag').string()), 'off', 'a dry run writes nothing');

    const first = (await vscode.commands.executeCommand<vscode.Uri>(
      run.command!.command,
      ...(run.command!.arguments ?? []),
    )) as vscode.Uri;
    const firstText = reports.text(first)!;
    assert.match(firstText, /succeeded: true/);
    assert.match(firstText, /branch: success/);
    assert.match(firstText, /revision: "?\d+/);
    assert.equal(await conn.call('get', (c) => c.get('/txnv/flag').string()), 'on');
    assert.equal(await conn.call('get', (c) => c.get('/txnv/audit').string()), 'switched');

    const second = (await vscode.commands.executeCommand<vscode.Uri>(
      run.command!.command,
      ...(run.command!.arguments ?? []),
    )) as vscode.Uri;
    const secondText = reports.text(second)!;
    assert.match(secondText, /succeeded: false/);
    assert.match(secondText, /branch: failure/);
    assert.match(secondText, /value: "?on/, 'the failure branch read the current value');
  });

  it('bulk-puts a JSON file in Txn batches and reports every batch', async () => {
    const { bulk, connections, reports } = await api();
    const data: Record<string, string> = {};
    for (let i = 0; i < 300; i++) data[`/txnv/bulk/${String(i).padStart(3, '0')}`] = `value-${i}`;
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify(data));
    const asked: string[] = [];
    answers?.dispose();
    answers = (await api()).prompts.swap({
      ask: async (message, _detail, ...actions) => {
        asked.push(message);
        return actions.includes('Put') ? 'Put' : actions[0];
      },
    });
    const reported: vscode.Uri[] = [];
    const watching = reports.onDidChange((uri) => /bulk\/report/.test(uri.path) && reported.push(uri));
    const result = await bulk
      .put(undefined, { file: vscode.Uri.file(file), profileId: 'txnv' })
      .finally(() => watching.dispose());
    assert.ok(result);
    assert.match(asked[0], /Put 300 keys into txnv/);
    assert.equal(result.complete, true);
    assert.equal(result.written, 300);
    assert.equal(result.batches.length, Math.ceil(300 / 128));
    assert.ok(result.batches.every((b) => b.status === 'committed' && /^\d+$/.test(b.revision ?? '')));
    const conn = await connections.get('txnv');
    const count = await conn.call('count', (c) =>
      c.kv.range({ key: Buffer.from('/txnv/bulk/'), range_end: Buffer.from('/txnv/bulk0'), count_only: true }),
    );
    assert.equal(count.count, '300');
    // The put showed one report, and it says every batch committed.
    assert.equal(reported.length, 1, 'one bulk report shown');
    assert.match(
      reports.text(reported[0]) ?? '',
      /\*\*Complete\*\*: every batch committed[\s\S]*Batches: 3 — 3 committed/,
    );
  });

  it('exports a folder, deletes it in batches after a preview, and imports the export back', async () => {
    const { bulk, connections } = await api();
    const conn = await connections.get('txnv');
    const folder = {
      type: 'folder' as const,
      profileId: 'txnv',
      key: Buffer.from('/txnv/bulk/'),
      name: Buffer.from('bulk/'),
    };
    const file = vscode.Uri.file(join(dir, 'bulk.ndjson'));
    const message = await bulk.export(folder, file);
    assert.match(message ?? '', /Exported 300 keys under \/txnv\/bulk\/ at revision \d+/);

    const asked: string[] = [];
    answers?.dispose();
    answers = (await api()).prompts.swap({
      ask: async (question, detail, ...actions) => {
        asked.push(`${question}\n${detail}`);
        return actions.includes('Delete') ? 'Delete' : actions[0];
      },
    });
    const deleted = await bulk.delete(folder, [folder]);
    assert.ok(deleted?.complete);
    assert.match(asked[0], /Delete 300 keys from txnv/);
    const count = () =>
      conn
        .call('count', (c) =>
          c.kv.range({ key: Buffer.from('/txnv/bulk/'), range_end: Buffer.from('/txnv/bulk0'), count_only: true }),
        )
        .then((r) => Number(r.count));
    assert.equal(await count(), 0);

    const imported = await bulk.import({ type: 'connection', profileId: 'txnv' }, { file, mode: 'skip' });
    assert.ok(imported?.complete);
    assert.equal(imported.written, 300);
    assert.equal(await count(), 300);
    assert.equal(await conn.call('get', (c) => c.get('/txnv/bulk/042').string()), 'value-42');
  });

  it('pre-fills a compare-and-swap Txn from keys selected in the tree', async () => {
    const { txnCommands, txnDocuments, connections, reports } = await api();
    const conn = await connections.get('txnv');
    await conn.write('seed', (c) => c.put('/txnv/sel/a').value('1').exec());
    await conn.write('seed', (c) => c.put('/txnv/sel/b').value('2').exec());
    const node = (k: string) => ({
      type: 'key' as const,
      profileId: 'txnv',
      key: Buffer.from(k),
      name: Buffer.from(k.split('/').pop()!),
    });
    const editor = await txnCommands.fromSelection(node('/txnv/sel/a'), [node('/txnv/sel/a'), node('/txnv/sel/b')]);
    assert.ok(editor);
    const doc = editor.document;
    assert.match(doc.uri.path, /\.etcdtxn\.yaml$/);
    assert.match(doc.getText(), /mod_revision/);
    assert.deepEqual(
      txnDocuments.validate(doc)!.filter((d) => d.severity === vscode.DiagnosticSeverity.Error),
      [],
    );
    assert.equal(txnDocuments.connectionFor(doc.uri), 'txnv');
    // Edit a value the way a user would, then run: the compare-and-swap succeeds while nobody else wrote.
    const text = doc.getText();
    const at = text.indexOf('value: "2"') >= 0 ? text.indexOf('value: "2"') : text.indexOf('value: 2');
    assert.ok(at >= 0, text);
    await editor.edit((e) =>
      e.replace(
        new vscode.Range(doc.positionAt(at), doc.positionAt(at + (text.startsWith('value: "2"', at) ? 10 : 8))),
        'value: "20"',
      ),
    );
    const uri = (await vscode.commands.executeCommand<vscode.Uri>('etcd.txn.run', doc.uri)) as vscode.Uri;
    assert.match(reports.text(uri)!, /succeeded: true/);
    assert.equal(await conn.call('get', (c) => c.get('/txnv/sel/b').string()), '20');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
