import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, screenshot } from '../rig/vscodeServer';
import { closeAllEditors, openEtcdView, seededWorkbench, webviewFrame, widenSideBar } from './session';

describe('E2E: Txn documents and the health doctor', function () {
  const session = seededWorkbench('txn', { configured: true, viewport: { width: 1500, height: 900 } });

  it('runs a Txn document through its CodeLens and shows the result beside it', async () => {
    const page = session.page;
    const file = join(session.workspace, 'rollout.etcdtxn.yaml');
    writeFileSync(
      file,
      [
        '# Create the flag only if nobody created it meanwhile; otherwise show what is there.',
        'compare:',
        '  - key: /config/feature-flags/new-checkout',
        '    target: create_revision',
        '    op: "=="',
        '    value: 0',
        'success:',
        '  - put: { key: /config/feature-flags/new-checkout, value: "true" }',
        '  - put: { key: /config/feature-flags/rollout-note, value: "enabled by txn" }',
        '  - get: { key: /config/feature-flags/, prefix: true, keysOnly: true }',
        'failure:',
        '  - get: { key: /config/feature-flags/new-checkout }',
        '',
      ].join('\n'),
    );
    await openEtcdView(page);
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill('rollout.etcdtxn.yaml');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'rollout.etcdtxn.yaml' }).first().click();
    const lens = page.locator('.contentWidgets .codelens-decoration a', { hasText: 'Run against demo etcd' });
    await lens.waitFor({ state: 'visible', timeout: 120_000 });
    await page.locator('.contentWidgets .codelens-decoration a', { hasText: 'Dry run' }).waitFor();
    await lens.click();
    const result = page.locator('.editor-instance .view-lines', { hasText: 'succeeded: true' });
    await result.waitFor({ timeout: 120_000 });
    const text = (await result.innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, /branch: success/);
    assert.equal(
      await session.conn.call('get', (c) => c.get('/config/feature-flags/rollout-note').string()),
      'enabled by txn',
    );
    await screenshot(page, 'txn-result');
  });

  it('builds and runs a Txn step by step from the palette, without a file', async () => {
    const page = session.page;
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const pick = async (label: RegExp) => {
      const row = page
        .locator('.quick-input-widget .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: label }) })
        .first();
      await row.waitFor({ state: 'visible', timeout: 120_000 });
      await row.click();
    };
    // Each input box waits for its own title first: the quick input reuses one <input>, so text typed before the
    // next box opens lands in the previous one (a put once ran with an empty value that way).
    const type = async (title: string, text: string) => {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 120_000 });
      await input.waitFor({ state: 'visible' });
      await input.fill(text);
      await input.press('Enter');
    };
    // The previous test's result document also says "succeeded: true": close it, so only this run's can match.
    await closeAllEditors(page);
    await runCommand(page, 'etcd: New Txn…');
    await pick(/Add compare…/);
    await type('Key to compare', '/config/feature-flags/guided');
    await pick(/^create_revision$/);
    await pick(/^==$/);
    await type('/config/feature-flags/guided create_revision == …', '0');
    await pick(/Add operation if compares hold…/);
    await pick(/^put$/);
    await type('Key to put', '/config/feature-flags/guided');
    await type('Value for /config/feature-flags/guided', 'on');
    await page
      .locator('.quick-input-widget .quick-input-title', { hasText: '1 compare(s), 1 success op(s), 0 failure op(s)' })
      .waitFor({ timeout: 120_000 });
    await pick(/Run$/);
    await page.locator('.editor-instance .view-lines', { hasText: 'succeeded: true' }).waitFor({ timeout: 120_000 });
    assert.equal(await session.conn.call('get', (c) => c.get('/config/feature-flags/guided').string()), 'on');
  });

  it('runs the health doctor: findings in the Health view and the report document', async () => {
    const page = session.page;
    // A value over the doctor's 512 KiB threshold.
    await session.conn.write('put', (c) =>
      c
        .put('/blobs/oversized-manifest')
        .value(Buffer.alloc(700 * 1024, 0x78))
        .exec(),
    );
    await closeAllEditors(page);
    await runCommand(page, 'etcd: Run Health Check');
    await page.locator('.notification-toast', { hasText: /demo etcd: .*finding/ }).waitFor({ timeout: 120_000 });
    await page.locator('.pane-header', { hasText: 'Connections' }).click();
    await page.locator('.pane-header', { hasText: 'Leases' }).click();
    await page.locator('.pane-header', { hasText: 'Health' }).click();
    await widenSideBar(page, 330);
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Health' }) });
    const finding = pane.locator('.monaco-list-row', { hasText: /large/i }).first();
    await finding.waitFor({ state: 'visible', timeout: 120_000 });
    await finding.click();
    await pane
      .locator('.monaco-list-row', { hasText: /oversized-manifest/ })
      .first()
      .waitFor({ timeout: 120_000 });
    await page.locator('.statusbar-item', { hasText: /etcd: \d+ health finding/ }).waitFor({ timeout: 120_000 });
    await screenshot(page, 'health-view');
    await runCommand(page, 'etcd: Open Health Report');
    const frame = await webviewFrame(page, 'h1', /demo etcd/);
    assert.ok(await frame.locator('body', { hasText: /oversized-manifest/ }).count(), 'the report names the large key');
    await screenshot(page, 'health-report');
    assert.deepEqual(session.dialogs, []);
  });
});
