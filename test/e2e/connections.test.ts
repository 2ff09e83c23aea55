import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot } from '../rig/vscodeServer';
import { clickRow, openEtcdView, seededWorkbench, treeRow } from './session';

/** Waits for the quick input step titled `title`, types `typed` (if any) and accepts. */
async function answerStep(page: Page, title: string, typed?: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  if (typed !== undefined) await input.fill(typed);
  await input.press('Enter');
}

describe('E2E: connect and browse keys in the real UI', function () {
  const session = seededWorkbench('connections', { configured: false });

  it('adds a connection through the welcome view and lists keys in the tree', async () => {
    const page = session.page;
    await openEtcdView(page);
    const addButton = page.getByRole('button', { name: 'Add Connection', exact: true });
    await addButton.waitFor({ state: 'visible', timeout: 120_000 });
    await screenshot(page, 'welcome');
    await addButton.click();

    const endpoint = session.cluster.endpoints[0].replace('http://', '');
    await answerStep(page, '(1/4): Endpoints', endpoint);
    await answerStep(page, '(2/4): Name', 'demo etcd');
    await answerStep(page, '(3/4): Authentication'); // No authentication
    await answerStep(page, '(4/4): Transport security'); // Plain (http)

    await clickRow(page, 'demo etcd');
    await treeRow(page, 'no-leading-slash').waitFor({ state: 'visible', timeout: 120_000 });
    await clickRow(page, '/');
    await treeRow(page, 'registry/').waitFor({ state: 'visible', timeout: 120_000 });
    for (const label of ['config/', 'locks/', 'services/', 'unicode/']) {
      assert.ok(await treeRow(page, label).isVisible(), `${label} listed`);
    }
    // Give the key tree the whole side bar (the Leases view shares it) before going deeper.
    await page.locator('.pane-header', { hasText: 'Leases' }).click();
    await page.mouse.move(0, 0);
    for (const label of ['registry/', 'pods/', 'payments/']) await clickRow(page, label);
    await treeRow(page, 'api-5f3a').waitFor({ state: 'visible', timeout: 120_000 });
    // The status bar names the connection, version and leader.
    const status = page.locator('.statusbar-item', { hasText: 'etcd: demo etcd' });
    await status.waitFor({ state: 'visible', timeout: 120_000 });
    assert.match((await status.innerText()).replace(/\s+/g, ' '), /v3\.\d+\.\d+ · leader m0/);
    await screenshot(page, 'keys-tree');
  });
});
