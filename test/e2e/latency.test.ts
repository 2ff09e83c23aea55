import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCommand, screenshot } from '../rig/vscodeServer';
import { openEtcdView, seededWorkbench, waitForSavedEditor, webviewFrame } from './session';

describe('E2E: latency panel', function () {
  const session = seededWorkbench('latency', { configured: true, viewport: { width: 1500, height: 1000 } });

  it('graphs client probes and server metrics, and they move while a load test runs', async () => {
    const page = session.page;
    await openEtcdView(page);
    await runCommand(page, 'etcd: Show Latency…');
    const frame = await webviewFrame(page, '#probe-charts');
    // uPlot draws into canvases: one per chart, all present once the first tick arrived.
    await frame.locator('#probe-charts .chart canvas').first().waitFor({ timeout: 120_000 });
    await frame.waitForFunction(() => document.querySelectorAll('#probe-stats tr').length >= 5, undefined, {
      timeout: 120_000,
    });
    const rows = await frame.locator('#probe-stats tr').allInnerTexts();
    assert.ok(
      rows.some((r) => /Range \(serializable\)/.test(r) && /\d+(\.\d+)? ms/.test(r)),
      rows.join('\n'),
    );
    await frame.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('#metrics-charts .chart')).some(
          (c) => c.querySelector('canvas') && (c.querySelector('.chart-empty') as HTMLElement).hidden,
        ),
      undefined,
      { timeout: 120_000 },
    );

    // Some history before the load, so the screenshot shows the change.
    await page.waitForTimeout(12_000);
    // Plot every quantile: the legends name p95 and max too.
    await frame.locator('#quantiles').click();
    await frame.locator('#quantiles vscode-option', { hasText: 'all' }).click();
    await frame.locator('#probe-charts .u-legend', { hasText: 'm0 max' }).first().waitFor({ timeout: 120_000 });
    assert.match(
      (await frame.locator('#probe-title').textContent()) ?? '',
      /p99 \(solid\) and p95, p50, max \(dashed\)/,
    );
    await frame.locator('#quantiles').click();
    await frame.locator('#quantiles vscode-option', { hasText: 'p99 + p50' }).click();

    await frame.locator('#load').click();
    await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Run Load Test' }).click();
    await frame.locator('#load-status.running').waitFor({ timeout: 120_000 });
    await frame.waitForFunction(
      () => /Load test running: [1-9][\d,]* \//.test(document.getElementById('load-status')?.textContent ?? ''),
      undefined,
      { timeout: 120_000 },
    );
    await page.waitForTimeout(6000);
    const running = await frame.locator('#load-status').textContent();
    assert.match(running ?? '', /Load test running/);
    await screenshot(page, 'latency-graphs');
    await frame.locator('#load-status.done').waitFor({ timeout: 120_000 });
    assert.match(
      (await frame.locator('#load-status').textContent()) ?? '',
      /writes\/s.* deleted [\d,]+ keys afterwards/,
    );
    const own = await frame.locator('#own-stats tr').allInnerTexts();
    assert.ok(own.length >= 2, own.join('\n'));
    assert.deepEqual(session.dialogs, []);
  });

  it('saves a chart as PNG through the save dialog', async () => {
    const page = session.page;
    const frame = await webviewFrame(page, '#probe-charts');
    await frame.locator('#probe-charts .chart vscode-button[title="Save as PNG"]').first().click();
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 120_000 });
    // The dialog proposes <workspace>/<chart title>.png; accept it.
    await page.waitForFunction(
      () =>
        /range-serializable\.png$/.test(
          (document.querySelector('.quick-input-widget .quick-input-box input') as HTMLInputElement | null)?.value ??
            '',
        ),
      undefined,
      { timeout: 120_000 },
    );
    const target = join(session.workspace, 'range-serializable.png');
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click();
    await page.locator('.notification-toast', { hasText: 'range-serializable.png' }).waitFor({ timeout: 120_000 });
    const bytes = readFileSync(target);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok(bytes.length > 2000, `${bytes.length} bytes`);
    mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
    copyFileSync(target, join(repoRoot, 'test-artifacts', 'chart-export.png'));
  });

  it('comes back after a window reload and probes again', async () => {
    const page = session.page;
    await waitForSavedEditor(page, 'mainThreadWebview-etcd.latency');
    // 'commit', not 'load' (as the rig's first navigation): on a loaded machine the workbench's scripts can take
    // minutes to load; what follows waits for the restored panel itself.
    await page.reload({ waitUntil: 'commit' });
    const frame = await webviewFrame(page, '#probe-charts');
    await frame.waitForFunction(() => document.querySelectorAll('#probe-stats tr').length >= 5, undefined, {
      timeout: 120_000,
    });
    assert.match((await frame.locator('.title').textContent()) ?? '', /Latency · demo etcd/);
  });
});
