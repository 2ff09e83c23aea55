import * as assert from 'node:assert/strict';
import { screenshot } from '../rig/vscodeServer';
import { expand, seededWorkbench, treeRow, widenSideBar } from './session';

describe('E2E: Kubernetes objects from the registry', function () {
  this.timeout(180_000);
  const session = seededWorkbench('kubernetes', { configured: true });

  it('opens a protobuf Pod from the tree as read-only YAML titled Pod/namespace/name', async () => {
    const page = session.page;
    await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
    await expand(page, ['demo etcd', '/']);
    // Give the key tree the whole side bar (the Leases view shares it) before going deeper.
    await page.locator('.pane-header', { hasText: 'Leases' }).click();
    await widenSideBar(page, 180);
    await expand(page, ['registry/', 'pods/', 'payments/']);
    const pod = treeRow(page, 'api-5f3a');
    await pod.waitFor({ state: 'visible', timeout: 120_000 });
    assert.match((await pod.innerText()).replace(/\s+/g, ' '), /Pod · payments/, 'object labelled from its key');
    assert.match(await treeRow(page, 'pods/').innerText(), /Pod/, 'resource folder names its kind');
    await pod.click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'Pod\u2215payments\u2215api-5f3a.yaml' });
    await tab.waitFor({ state: 'visible', timeout: 120_000 });
    // Monaco renders spaces as U+00A0.
    await page.waitForFunction(() =>
      document
        .querySelector('.editor-instance .view-lines')
        ?.textContent?.replace(/\u00a0/g, ' ')
        .includes('kind: Pod'),
    );
    const text = (await page.locator('.editor-instance .monaco-editor .view-lines').innerText()).replace(
      /\u00a0/g,
      ' ',
    );
    assert.match(text, /apiVersion: v1/);
    assert.match(text, /namespace: payments/);
    // The raw bytes are one click away in the editor title.
    await page
      .locator('.editor-actions [aria-label^="Show Raw Bytes"]')
      .waitFor({ state: 'visible', timeout: 120_000 });
    await screenshot(page, 'k8s-pod');
  });
});
