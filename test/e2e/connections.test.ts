import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { seedDemo } from '../../scripts/seedDemo';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { Workbench, openWorkbench, repoRoot, screenshot } from '../rig/vscodeServer';

registerCleanup();

/** The tree row whose label is exactly `label`, in the etcd view. */
function treeRow(page: Page, label: string) {
  return page
    .locator('.pane-body .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .first();
}

/** Waits for the quick input step titled `title`, types `typed` (if any) and accepts. */
async function answerStep(page: Page, title: string, typed?: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  if (typed !== undefined) await input.fill(typed);
  await input.press('Enter');
}

describe('E2E: connect and browse keys in the real UI', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let workbench: Workbench | undefined;
  let workspace: string;
  let vsix: string;

  before(async () => {
    cluster = await EtcdCluster.start();
    const conn = new EtcdConnection({ id: 'seed', name: 'seed', endpoints: cluster.endpoints }, {}, silentLogger);
    await seedDemo(conn);
    await conn.close();
    // Install the packaged extension, as a user would.
    execFileSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: 'ignore' });
    vsix = join(repoRoot, 'etcd-explorer.vsix');
    workspace = mkdtempSync(join(tmpdir(), 'etcd-e2e-ws-'));
    workbench = await openWorkbench({
      workspaceFolder: workspace,
      vsix,
      viewport: { width: 1400, height: 900 },
      settings: { 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.disableAIFeatures': true },
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && workbench) await screenshot(workbench.page, 'failure-connections');
  });

  after(async () => {
    await workbench?.close();
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('adds a connection through the welcome view and lists keys in the tree', async () => {
    const page = workbench!.page;
    await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
    const addButton = page.getByRole('button', { name: 'Add Connection', exact: true });
    await addButton.waitFor({ state: 'visible', timeout: 20_000 });
    await screenshot(page, 'welcome');
    await addButton.click();

    const endpoint = cluster.endpoints[0].replace('http://', '');
    await answerStep(page, '(1/4): Endpoints', endpoint);
    await answerStep(page, '(2/4): Name', 'demo etcd');
    await answerStep(page, '(3/4): Authentication'); // No authentication
    await answerStep(page, '(4/4): Transport security'); // Plain (http)

    const connection = treeRow(page, 'demo etcd');
    await connection.waitFor({ state: 'visible', timeout: 20_000 });
    await connection.click();
    const slash = treeRow(page, '/');
    await slash.waitFor({ state: 'visible', timeout: 20_000 });
    await treeRow(page, 'no-leading-slash').waitFor({ state: 'visible' });
    await slash.click();
    const registry = treeRow(page, 'registry/');
    await registry.waitFor({ state: 'visible', timeout: 20_000 });
    await registry.click();
    await treeRow(page, 'pods/').click();
    await treeRow(page, 'payments/').click();
    await treeRow(page, 'api-5f3a').waitFor({ state: 'visible', timeout: 20_000 });
    for (const label of ['config/', 'locks/', 'services/', 'unicode/']) {
      assert.ok(await treeRow(page, label).isVisible(), `${label} listed`);
    }
    // The status bar names the connection, version and leader.
    const status = page.locator('.statusbar-item', { hasText: 'etcd: demo etcd' });
    await status.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await status.innerText()).replace(/\s+/g, ' '), /v3\.\d+\.\d+ · leader m0/);
    await screenshot(page, 'keys-tree');
  });
});
