import * as assert from 'node:assert/strict';
import { screenshot } from '../rig/vscodeServer';
import { openEtcdView, seededWorkbench, widenSideBar } from './session';

describe('E2E: leases view', function () {
  const session = seededWorkbench('leases', { configured: true });

  it('lists leases with TTL countdown, flags and keys', async () => {
    const page = session.page;
    // One lease about to expire and one without keys, beside the seeded service leases.
    await session.conn
      .write('grant', (c) => c.leaseClient.leaseGrant({ TTL: 8, ID: '0' }))
      .then((r) =>
        session.conn.write('put', (c) =>
          c.put('/services/search/instance-9').value('{"addr":"10.0.9.7:8443"}').lease(r.ID).exec(),
        ),
      );
    await session.conn.write('grant', (c) => c.leaseClient.leaseGrant({ TTL: 900, ID: '0' }));

    await openEtcdView(page);
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Leases' }) });
    await pane.locator('.pane-header').waitFor({ state: 'visible', timeout: 120_000 });
    const row = (label: RegExp) =>
      pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: label }) }).first();
    await row(/^demo etcd$/).click();
    await page.mouse.move(0, 0);
    const rows = pane.locator('.monaco-list-row');
    // Rows of this pane that only the grants above produce (other panes' rows have descriptions too).
    await pane
      .locator('.monaco-list-row', { hasText: / s \/ 600 s · 3 keys/ })
      .first()
      .waitFor({ timeout: 120_000 });
    await pane
      .locator('.monaco-list-row', { hasText: / s \/ 900 s · no keys/ })
      .first()
      .waitFor({ timeout: 120_000 });
    const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    assert.ok(
      texts.some((t) => / s \/ 600 s · 3 keys/.test(t)),
      texts.join(' | '),
    );
    assert.ok(
      texts.some((t) => / s \/ 900 s · no keys/.test(t)),
      'a lease without keys is flagged',
    );
    // Expand the service lease with 3 keys.
    await pane.locator('.monaco-list-row', { hasText: '600 s · 3 keys' }).first().click();
    await page.mouse.move(0, 0);
    await pane.locator('.monaco-list-row', { hasText: '/services/payments/instance-0' }).waitFor({ timeout: 120_000 });
    await widenSideBar(page, 300);
    await screenshot(page, 'leases-view');
  });

  it('shows the cluster members with the leader marked', async () => {
    const page = session.page;
    await page.locator('.pane-header', { hasText: 'Leases' }).click();
    await page.locator('.pane-header', { hasText: 'Cluster' }).click();
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Cluster' }) });
    await pane.locator('.monaco-list-row', { hasText: 'demo etcd' }).first().click();
    const leader = pane.locator('.monaco-list-row', { hasText: '★ leader' });
    await leader.waitFor({ state: 'visible', timeout: 120_000 });
    assert.match(await leader.innerText(), /v3\.\d+\.\d+ · db /);
    await pane.locator('.monaco-list-row', { hasText: 'No alarms' }).waitFor({ timeout: 120_000 });
    await screenshot(page, 'cluster-view');
  });
});
