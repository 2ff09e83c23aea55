import * as assert from 'node:assert/strict';
import { screenshot } from '../rig/vscodeServer';
import {
  contextMenuUntil,
  expand,
  openEtcdView,
  seededWorkbench,
  treeRow,
  waitForSavedEditor,
  watchAsPrefixFromNow,
  webviewFrame,
} from './session';

const XSS_KEY = '/services/payments/<img src=x onerror=alert(1)>';

describe('E2E: watch panel', function () {
  const session = seededWorkbench('watch', { configured: true, viewport: { width: 1500, height: 900 } });

  it('opens a watch from the tree and streams live events, rendering hostile keys as inert text', async () => {
    const page = session.page;
    await openEtcdView(page);
    await expand(page, ['demo etcd', '/']);
    const services = treeRow(page, 'services/');
    await services.waitFor({ state: 'visible', timeout: 120_000 });
    const input = page.locator('.quick-input-widget .quick-input-box input');
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Watch key or prefix' });
    await contextMenuUntil(page, services, 'Watch Key / Prefix…', title);
    assert.equal(await input.inputValue(), '/services/');
    const frame = await watchAsPrefixFromNow(page);
    for (let i = 0; i < 30; i++) {
      await session.conn.write('put', (c) =>
        c
          .put(`/services/payments/instance-${i % 5}`)
          .value(JSON.stringify({ addr: `10.0.0.${i}:8443`, weight: i }))
          .exec(),
      );
    }
    await session.conn.write('put', (c) => c.put(XSS_KEY).value('<script>alert(2)</script>').exec());
    await session.conn.write('delete', (c) => c.delete().key('/services/payments/instance-4').exec());

    await frame.locator('.event .key', { hasText: XSS_KEY }).first().waitFor({ timeout: 120_000 });
    assert.equal(await frame.locator('.event img, .details img').count(), 0, 'no <img> element was created');
    assert.equal(await frame.locator('[onerror]').count(), 0, 'no element carries the injected handler');
    const keyText = await frame.locator('.event .key', { hasText: XSS_KEY }).first().textContent();
    assert.equal(keyText, XSS_KEY, 'the key is shown as its literal text');
    await frame.locator('.event.delete').first().waitFor({ timeout: 120_000 });
    await frame.locator('.event .key', { hasText: XSS_KEY }).first().click();
    await frame.locator('.details dd', { hasText: '<script>alert(2)</script>' }).waitFor({ timeout: 120_000 });
    const stats = await frame.locator('#stats').textContent();
    assert.match(stats ?? '', /^32 events/);
    assert.deepEqual(session.dialogs, [], 'no alert fired');
    await screenshot(page, 'watch-panel');
  });

  it('comes back after a window reload and shows what changed while it was away', async () => {
    const page = session.page;
    await waitForSavedEditor(page, 'mainThreadWebview-etcd.watch');
    // 'commit', not 'load' (as the rig's first navigation): on a loaded machine the workbench's scripts can take
    // minutes to load; what follows waits for the restored panel itself.
    await page.reload({ waitUntil: 'commit' });
    // Written while the window reloads: the restored watch resumes after the last revision it had seen.
    await session.conn.write('put', (c) =>
      c.put('/services/payments/during-reload').value('{"addr":"10.0.0.99:8443"}').exec(),
    );
    const frame = await webviewFrame(page, '#events');
    await frame.locator('.state.live').first().waitFor({ timeout: 120_000 });
    await frame
      .locator('.event .key', { hasText: '/services/payments/during-reload' })
      .first()
      .waitFor({ timeout: 120_000 });
  });
});
