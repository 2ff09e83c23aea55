import * as assert from 'node:assert/strict';
import { screenshot } from '../rig/vscodeServer';
import { expand, openEtcdView, seededWorkbench } from './session';

describe('E2E: values in the editor, save conflicts', function () {
  const session = seededWorkbench('values', { configured: true });

  it('opens a JSON value from the tree as a JSON document', async () => {
    const page = session.page;
    await openEtcdView(page);
    await expand(page, ['demo etcd', '/', 'config/', 'payments/', 'limits.json']);
    const tab = page.locator('.tabs-container .tab', { hasText: 'limits.json' });
    await tab.waitFor({ state: 'visible', timeout: 120_000 });
    const editor = page.locator('.editor-instance .monaco-editor .view-lines');
    await page.waitForFunction(() =>
      document.querySelector('.editor-instance .view-lines')?.textContent?.includes('"rps"'),
    );
    assert.match((await editor.innerText()).replace(/\s+/g, ''), /"rps":1200/);
    const language = page.locator('.statusbar-item', { hasText: /^JSON$/ });
    await language.waitFor({ state: 'visible', timeout: 120_000 });
    await screenshot(page, 'value-json');
  });

  it('shows the server value beside the edit when the key changed meanwhile, and writes nothing', async () => {
    const page = session.page;
    // Someone else changes the key after it was opened.
    await session.conn.write('put', (c) =>
      c
        .put('/config/payments/limits.json')
        .value(JSON.stringify({ rps: 900, burst: 100 }, null, 2))
        .exec(),
    );
    await page.locator('.editor-instance .monaco-editor .view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n');
    await page.keyboard.press('Control+s');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 120_000 });
    assert.match(await dialog.innerText(), /changed on the server since you opened it/);
    await page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible', timeout: 120_000 });
    await screenshot(page, 'conflict-diff');
    await dialog.getByRole('button', { name: 'Keep Editing' }).click();
    const server = await session.conn.call('get', (c) => c.get('/config/payments/limits.json').string());
    assert.match(server ?? '', /"rps": 900/, 'the other writer’s value is intact');
  });
});
