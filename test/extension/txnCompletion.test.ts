import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { api } from './api';

describe('Txn document completion (extension host)', function () {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-txn-complete-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function labelsAt(text: string, line: number, character: number): Promise<string[]> {
    await api();
    const file = join(dir, `c${Date.now()}${Math.random().toString(36).slice(2)}.etcdtxn.yaml`);
    writeFileSync(file, text);
    const uri = vscode.Uri.file(file);
    await vscode.workspace.openTextDocument(uri);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>(
      'vscode.executeCompletionItemProvider',
      uri,
      new vscode.Position(line, character),
    );
    return list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
  }

  it('offers operations in a branch, compares under compare:, and the allowed targets and ops', async () => {
    const branch = await labelsAt('success:\n  - \n', 1, 4);
    for (const op of ['put', 'get prefix', 'delete prefix']) assert.ok(branch.includes(op), branch.join(', '));
    assert.ok(!branch.includes('compare absent'));
    const compare = await labelsAt('compare:\n  - \n', 1, 4);
    assert.ok(compare.includes('compare mod_revision') && compare.includes('compare absent'), compare.join(', '));
    const targets = await labelsAt('compare:\n  - key: /a\n    target: \n', 2, 12);
    for (const t of ['mod_revision', 'version', 'create_revision', 'value', 'lease'])
      assert.ok(targets.includes(t), targets.join(', '));
    const ops = await labelsAt('compare:\n  - key: /a\n    op: \n', 2, 8);
    for (const o of ['==', '!=', '<', '>']) assert.ok(ops.includes(o), ops.join(', '));
    const top = await labelsAt('\n', 0, 0);
    assert.ok(
      ['compare', 'success', 'failure'].every((s) => top.includes(s)),
      top.join(', '),
    );
  });

  it('checks JSON Txn documents strictly (the bundled JSON scanner runs in the extension)', async () => {
    const { txnDocuments } = await api();
    const file = join(dir, 'strict.etcdtxn.json');
    writeFileSync(file, '{\n  "success": [\n    { "get": { "key": "/a" } },\n  ]\n}\n');
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const diagnostics = txnDocuments.validate(doc)!;
    assert.equal(diagnostics.length, 1, diagnostics.map((d) => d.message).join('\n'));
    assert.match(diagnostics[0].message, /JSON syntax error: trailing comma/);
    assert.equal(doc.getText(diagnostics[0].range), ']');
  });
});
