import * as assert from 'node:assert/strict';
import { leaseHex } from '../../src/etcd/leases';
import { runCommand, screenshot } from '../rig/vscodeServer';
import { contextMenuUntil, seededWorkbench, stepLog, watchAsPrefixFromNow } from './session';

describe('E2E: streams say when they are stale', function () {
  this.timeout(600_000);
  const session = seededWorkbench('stale', { configured: true, viewport: { width: 1500, height: 900 } });

  it('the watch panel header and the keep-alive status bar item say "stale since …" while the member is frozen, then recover', async () => {
    const page = session.page;
    const step = stepLog('stale');
    // A 600 s lease: stale long before it could expire, and still granted when a starved machine takes minutes
    // to show the Leases view (a 120 s one had 25 s left when a CI run at load average 17 got there).
    const { ID: lease } = await session.conn.write('grant', (c) => c.leaseClient.leaseGrant({ TTL: 600, ID: '0' }));
    await session.conn.write('put', (c) => c.put('/services/stale/instance').value('up').lease(lease).exec());

    step('lease granted and attached');
    await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Leases' }) });
    await pane.locator('.pane-header').waitFor({ state: 'visible', timeout: 120_000 });
    await pane
      .locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^demo etcd$/ }) })
      .first()
      .click();
    const leaseRow = pane
      .locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: leaseHex(lease) }) })
      .first();
    await leaseRow.waitFor({ state: 'visible', timeout: 120_000 });
    step('lease row shown');
    const keepAlive = page.locator('.statusbar-item', { hasText: 'keep-alive: 1 lease' });
    await contextMenuUntil(page, leaseRow, 'Keep Alive Continuously', keepAlive);

    step('keep-alive started');
    await runCommand(page, 'etcd: Watch Key / Prefix…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Watch key or prefix' }).waitFor();
    await input.fill('/services/');
    const frame = await watchAsPrefixFromNow(page);

    step('watch live');
    session.cluster.freeze(0);
    try {
      const stale = frame.locator('.watch .stale', { hasText: /stale since \S+/ }).first();
      await stale.waitFor({ timeout: 120_000 });
      step('watch panel says stale');
      assert.equal(await frame.locator('.state.live').count(), 0, 'the header no longer says live');
      await page
        .locator('.statusbar-item', { hasText: /keep-alive: 1 lease · 1 stale since \S+/ })
        .waitFor({ timeout: 120_000 });
      step('status bar says stale');
      await pane
        .locator('.monaco-list-row', { hasText: /keep-alive stale since \S+/ })
        .first()
        .waitFor({ timeout: 120_000 });
      step('Leases view says stale');
      await screenshot(page, 'streams-stale');
    } finally {
      session.cluster.thaw(0);
    }

    step('thawed');
    await frame.locator('.state.live').first().waitFor({ timeout: 120_000 });
    step('watch live again');
    await page.locator('.statusbar-item', { hasText: /stale since/ }).waitFor({ state: 'detached', timeout: 120_000 });
    step('status bar no longer stale');
    assert.match(await keepAlive.innerText(), /keep-alive: 1 lease/);
    // Each renewal restarts the view's countdown: the kept lease never shows as expired.
    assert.doesNotMatch(await leaseRow.innerText(), /expired/);
    await session.conn.write('put', (c) => c.put('/services/stale/after-thaw').value('1').exec());
    await frame.locator('.event .key', { hasText: '/services/stale/after-thaw' }).first().waitFor({ timeout: 120_000 });
    step('the event written after the thaw shown');
  });
});
