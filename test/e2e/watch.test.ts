import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { seedDemo } from '../../scripts/seedDemo';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { Workbench, openWorkbench, repoRoot, screenshot } from '../rig/vscodeServer';

registerCleanup();

const XSS_KEY = '/services/payments/<img src=x onerror=alert(1)>';

function treeRow(page: Page, label: string) {
  return page
    .locator('.pane-body .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .first();
}

/** The frame of the watch webview (nested iframes; found by its content). */
async function watchFrame(page: Page): Promise<Frame> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.locator('#events').count().catch(() => 0)) return frame;
    }
    await page.waitForTimeout(200);
  }
  assert.fail('watch webview not found');
}

describe('E2E: watch panel', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  let workbench: Workbench | undefined;
  let workspace: string;
  const dialogs: string[] = [];

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'seed', name: 'seed', endpoints: cluster.endpoints }, {}, silentLogger);
    await seedDemo(conn);
    const vsix = join(repoRoot, 'etcd-explorer.vsix');
    if (!existsSync(vsix)) execFileSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: 'ignore' });
    workspace = mkdtempSync(join(tmpdir(), 'etcd-e2e-watch-'));
    workbench = await openWorkbench({
      workspaceFolder: workspace,
      vsix,
      viewport: { width: 1500, height: 900 },
      settings: {
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.disableAIFeatures': true,
        'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: cluster.endpoints }],
      },
    });
    workbench.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && workbench) await screenshot(workbench.page, 'failure-watch');
  });

  after(async () => {
    await workbench?.close();
    await conn?.close();
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('opens a watch from the tree and streams live events, rendering hostile keys as inert text', async () => {
    const page = workbench!.page;
    await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
    for (const label of ['demo etcd', '/']) {
      await treeRow(page, label).waitFor({ state: 'visible', timeout: 20_000 });
      await treeRow(page, label).click();
    }
    const services = treeRow(page, 'services/');
    await services.waitFor({ state: 'visible', timeout: 20_000 });
    await services.click({ button: 'right' });
    await page.locator('.context-view .action-label', { hasText: 'Watch Key / Prefix…' }).click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Watch key or prefix' }).waitFor();
    assert.equal(await input.inputValue(), '/services/');
    await input.press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'as…' }).waitFor();
    await input.press('Enter'); // Prefix
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Start' }).waitFor();
    await input.press('Enter'); // From now

    const frame = await watchFrame(page);
    await frame.locator('.state.live').first().waitFor({ timeout: 20_000 });
    for (let i = 0; i < 30; i++) {
      await conn.write('put', (c) => c.put(`/services/payments/instance-${i % 5}`).value(JSON.stringify({ addr: `10.0.0.${i}:8443`, weight: i })).exec());
    }
    await conn.write('put', (c) => c.put(XSS_KEY).value('<script>alert(2)</script>').exec());
    await conn.write('delete', (c) => c.delete().key('/services/payments/instance-4').exec());

    await frame.locator('.event .key', { hasText: XSS_KEY }).first().waitFor({ timeout: 20_000 });
    assert.equal(await frame.locator('.event img, .details img').count(), 0, 'no <img> element was created');
    assert.equal(await frame.locator('[onerror]').count(), 0, 'no element carries the injected handler');
    const keyText = await frame.locator('.event .key', { hasText: XSS_KEY }).first().textContent();
    assert.equal(keyText, XSS_KEY, 'the key is shown as its literal text');
    await frame.locator('.event.delete').first().waitFor({ timeout: 10_000 });
    await frame.locator('.event .key', { hasText: XSS_KEY }).first().click();
    await frame.locator('.details dd', { hasText: '<script>alert(2)</script>' }).waitFor({ timeout: 5_000 });
    const stats = await frame.locator('#stats').textContent();
    assert.match(stats ?? '', /^32 events/);
    assert.deepEqual(dialogs, [], 'no alert fired');
    await screenshot(page, 'watch-panel');
  });
});
