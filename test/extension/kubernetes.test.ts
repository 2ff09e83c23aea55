import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, testEndpoints } from './api';
import { EtcdConnection } from '../../src/etcd/connection';
import { encodeKubernetesObject } from '../../src/etcd/kubernetes/encode';
import { silentLogger } from '../../src/etcd/logger';

describe('Kubernetes values in the editor and tree', function () {
  this.timeout(60_000);
  const endpoints = testEndpoints();
  let other: EtcdConnection;
  const registryWarnings: string[] = [];
  let allowRegistryWrite = false;
  let answers: vscode.Disposable | undefined;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', creationTimestamp: '2025-12-01T00:00:00Z', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27', resources: { limits: { cpu: '500m' } } }] },
  };

  const plainSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'plain', namespace: 'shop' },
    type: 'Opaque',
  };

  before(async () => {
    other = new EtcdConnection({ id: 'k8s-other', name: 'k8s-other', endpoints }, {}, silentLogger);
    await other.write('seed', (c) =>
      c
        .put('/registry/pods/shop/web-1')
        .value(Buffer.from(encodeKubernetesObject(pod)))
        .exec(),
    );
    await other.write('seed', (c) =>
      c.put('/registry/secrets/shop/token').value(Buffer.from('k8s:enc:aescbc:v1:key1:\x01\x02\x03')).exec(),
    );
    await other.write('seed', (c) =>
      c
        .put('/registry/secrets/shop/plain')
        .value(Buffer.from(encodeKubernetesObject(plainSecret)))
        .exec(),
    );
    const cr = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1', namespace: 'shop' },
      spec: { size: 3 },
    };
    await other.write('seed', (c) => c.put('/registry/example.com/widgets/shop/w1').value(JSON.stringify(cr)).exec());
    const { connections, prompts } = await api();
    await connections.add({ id: 'k8s', name: 'k8s', endpoints });
    answers = prompts.swap({
      confirm: async (message) => {
        registryWarnings.push(message);
        return allowRegistryWrite;
      },
    });
  });

  after(async () => {
    const { connections } = await api();
    answers?.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await connections.remove('k8s');
    await other?.write('clean', (c) => c.delete().prefix('/registry/').exec());
    await other?.close();
  });

  it('opens a protobuf Pod as read-only YAML titled Pod/shop/web-1, with JSON and raw bytes one command away', async () => {
    const { values } = await api();
    const editor = await values.open('k8s', Buffer.from('/registry/pods/shop/web-1'));
    assert.ok(editor);
    const doc = editor.document;
    assert.equal(doc.uri.scheme, 'etcd-k8s');
    assert.equal(doc.uri.path, '/Pod\u2215shop\u2215web-1.yaml', 'title kind/namespace/name');
    assert.equal(doc.languageId, 'yaml');
    const text = doc.getText();
    assert.match(text, /^kind: Pod$/m);
    assert.match(text, /^ {4}- name: web\n {6}image: nginx:1\.27\n {6}resources:\n {8}limits:\n {10}cpu: 500m$/m);
    assert.match(text, /creationTimestamp: 2025-12-01T00:00:00Z/);
    // Read-only: an edit attempt is refused by the file system.
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(doc.uri, Buffer.from('x'))));

    await vscode.commands.executeCommand('etcd.kubernetes.openAsJson', doc.uri);
    const json = vscode.window.activeTextEditor!.document;
    assert.equal(json.uri.path, '/Pod\u2215shop\u2215web-1.json');
    assert.deepEqual(JSON.parse(json.getText()), pod);

    await vscode.commands.executeCommand('etcd.kubernetes.showRaw', doc.uri);
    const raw = vscode.window.activeTextEditor!.document;
    assert.equal(raw.uri.scheme, 'etcd-snapshot');
    assert.match(raw.getText(), /^00000000 {2}6b 38 73 00 /, 'hex dump starts with the k8s\\0 magic');
  });

  it('names an encrypted Secret with its provider and key, and keeps JSON custom resources editable (with a warning on save)', async () => {
    const { values } = await api();
    const secret = await values.open('k8s', Buffer.from('/registry/secrets/shop/token'));
    assert.equal(secret?.document.uri.path, '/Secret\u2215shop\u2215token.yaml');
    assert.match(secret!.document.getText(), /provider: aescbc\n\s+version: v1\n\s+keyName: key1/);

    const cr = await values.open('k8s', Buffer.from('/registry/example.com/widgets/shop/w1'));
    assert.ok(cr);
    assert.equal(cr.document.uri.scheme, 'etcd', 'a CR opens as the normal editable value');
    const edit = cr.document.getText().replace('"size":3', '"size":4');
    const ok = await cr.edit((e) =>
      e.replace(
        new vscode.Range(cr.document.positionAt(0), cr.document.positionAt(cr.document.getText().length)),
        edit,
      ),
    );
    assert.ok(ok);
    allowRegistryWrite = false;
    assert.equal(await cr.document.save(), false, 'declined: not saved');
    assert.equal(registryWarnings.length, 1);
    assert.match(
      registryWarnings[0],
      /^\/registry\/example\.com\/widgets\/shop\/w1 is under the Kubernetes registry prefix \/registry\/\. Writing it directly bypasses the API server\.$/,
    );
    const stored = async () =>
      (
        await other.call('get', (c) => c.kv.range({ key: Buffer.from('/registry/example.com/widgets/shop/w1') }))
      ).kvs[0].value.toString();
    assert.match(await stored(), /"size":3/);
    allowRegistryWrite = true;
    assert.ok(await cr.document.save(), 'confirmed: saved');
    assert.match(await stored(), /"size":4/);
    assert.equal(registryWarnings.length, 2, 'asked again for the second save');
  });

  it('labels registry folders and objects from their keys', async () => {
    const { keyTree } = await api();
    const pods = keyTree.nodeForKey('k8s', Buffer.from('/registry/pods/'), 'folder');
    assert.equal(keyTree.getTreeItem(pods).description, 'Pod');
    const ns = keyTree.nodeForKey('k8s', Buffer.from('/registry/pods/shop/'), 'folder');
    assert.equal(keyTree.getTreeItem(ns).description, 'namespace');
    const object = keyTree.nodeForKey('k8s', Buffer.from('/registry/pods/shop/web-1'), 'key');
    const item = keyTree.getTreeItem(object);
    assert.equal(item.description, 'Pod · shop');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'symbol-object');
    const resolved = await keyTree.resolveTreeItem!(item, object, new vscode.CancellationTokenSource().token);
    assert.match((resolved.tooltip as vscode.MarkdownString).value, /stored as protobuf/);
    const secret = keyTree.nodeForKey('k8s', Buffer.from('/registry/secrets/shop/token'), 'key');
    const secretTip = await keyTree.resolveTreeItem!(
      keyTree.getTreeItem(secret),
      secret,
      new vscode.CancellationTokenSource().token,
    );
    assert.match((secretTip.tooltip as vscode.MarkdownString).value, /encrypted at rest \(aescbc:key1\)/);
  });

  it('runs the Kubernetes overview for a connection and opens its report', async () => {
    const { kubernetes, reports } = await api();
    const overview = await kubernetes.overview('k8s');
    assert.ok(overview);
    const byResource = Object.fromEntries(overview.resources.map((r) => [r.resource, r]));
    assert.equal(byResource.pods.byFormat.protobuf, 1);
    assert.equal(byResource.secrets.byFormat.encrypted, 1);
    assert.equal(byResource['example.com/widgets'].byFormat.json, 1);
    assert.match(reports.text(reports.uri('kubernetes/k8s.md')) ?? '', /\| pods \| Pod \| 1 \|/);
  });

  it('marks encrypted objects in the tree (lock, provider and key) once their folder is listed', async () => {
    const { keyTree } = await api();
    const folder = keyTree.nodeForKey('k8s', Buffer.from('/registry/secrets/shop/'), 'folder');
    const item = async (name: string) => {
      const children = await keyTree.getChildren(folder);
      const node = children.find((n) => n.type === 'key' && n.key.toString() === `/registry/secrets/shop/${name}`);
      assert.ok(node, `${name} is listed`);
      return keyTree.getTreeItem(node);
    };
    const token = await item('token');
    assert.equal(token.description, 'Secret · shop · encrypted (aescbc:key1)');
    assert.equal((token.iconPath as vscode.ThemeIcon).id, 'lock');
    const plain = await item('plain');
    assert.equal(plain.description, 'Secret · shop', 'a plain Secret is not marked');
    assert.equal((plain.iconPath as vscode.ThemeIcon).id, 'symbol-object');
    // Encrypted later (as a storage migration does): the next listing reads the changed value again.
    await other.write('encrypt', (c) =>
      c.put('/registry/secrets/shop/plain').value(Buffer.from('k8s:enc:kms:v2:vault:\x09\x08')).exec(),
    );
    keyTree.refresh(folder);
    assert.equal((await item('plain')).description, 'Secret · shop · encrypted (kms:vault)');
  });
});
