import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { seedDemo } from '../../scripts/seedDemo';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { Workbench, openWorkbench, repoRoot, screenshot } from '../rig/vscodeServer';

registerCleanup();

function treeRow(page: Page, label: string) {
  return page
    .locator('.pane-body .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .first();
}

async function expand(page: Page, labels: string[]): Promise<void> {
  for (const label of labels) {
    const row = treeRow(page, label);
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    await row.click();
  }
}

describe('E2E: values in the editor, save conflicts', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  let workbench: Workbench | undefined;
  let workspace: string;

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'seed', name: 'seed', endpoints: cluster.endpoints }, {}, silentLogger);
    await seedDemo(conn);
    const vsix = join(repoRoot, 'etcd-explorer.vsix');
    if (!existsSync(vsix)) execFileSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: 'ignore' });
    workspace = mkdtempSync(join(tmpdir(), 'etcd-e2e-values-'));
    workbench = await openWorkbench({
      workspaceFolder: workspace,
      vsix,
      viewport: { width: 1400, height: 900 },
      settings: {
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.disableAIFeatures': true,
        'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: cluster.endpoints }],
      },
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && workbench) await screenshot(workbench.page, 'failure-values');
  });

  after(async () => {
    await workbench?.close();
    await conn?.close();
    await cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  it('opens a JSON value from the tree as a JSON document', async () => {
    const page = workbench!.page;
    await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
    await expand(page, ['demo etcd', '/', 'config/', 'payments/', 'limits.json']);
    const tab = page.locator('.tabs-container .tab', { hasText: 'limits.json' });
    await tab.waitFor({ state: 'visible', timeout: 20_000 });
    const editor = page.locator('.editor-instance .monaco-editor .view-lines');
    await page.waitForFunction(() => document.querySelector('.editor-instance .view-lines')?.textContent?.includes('"rps"'));
    assert.match((await editor.innerText()).replace(/\s+/g, ''), /"rps":1200/);
    const language = page.locator('.statusbar-item', { hasText: /^JSON$/ });
    await language.waitFor({ state: 'visible', timeout: 10_000 });
    await screenshot(page, 'value-json');
  });

  it('shows the server value beside the edit when the key changed meanwhile, and writes nothing', async () => {
    const page = workbench!.page;
    // Someone else changes the key after it was opened.
    await conn.write('put', (c) => c.put('/config/payments/limits.json').value(JSON.stringify({ rps: 900, burst: 100 }, null, 2)).exec());
    await page.locator('.editor-instance .monaco-editor .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n');
    await page.keyboard.press('Control+s');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 20_000 });
    assert.match(await dialog.innerText(), /changed on the server since you opened it/);
    await page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible', timeout: 10_000 });
    await screenshot(page, 'conflict-diff');
    await dialog.getByRole('button', { name: 'Keep Editing' }).click();
    const server = await conn.call('get', (c) => c.get('/config/payments/limits.json').string());
    assert.match(server ?? '', /"rps": 900/, 'the other writer’s value is intact');
  });
});
