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

/** The row of the etcd view whose label is exactly `label`. */
export function treeRow(page: Page, label: string) {
  return page
    .locator('.pane-body .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .first();
}

/** The frame of a webview (nested iframes), found by something only it contains. */
export async function webviewFrame(page: Page, selector: string, hasText?: RegExp, timeoutMs = 30_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.locator(selector, hasText ? { hasText } : {}).count().catch(() => 0)) return frame;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview shows ${selector}${hasText ? ` ${hasText}` : ''}`);
}

/** Drags the side bar's edge `px` to the right, so tree descriptions are readable in screenshots. */
export async function widenSideBar(page: Page, px: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  const edge = box.x + box.width + 1;
  await page.mouse.move(edge, box.y + 300);
  await page.mouse.down();
  await page.mouse.move(edge + px, box.y + 300, { steps: 8 });
  await page.mouse.up();
}

/** Clicks the rows labelled `labels` in turn (expanding folders, opening a key at the end). */
export async function expand(page: Page, labels: string[]): Promise<void> {
  for (const label of labels) {
    const row = treeRow(page, label);
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    await row.click();
  }
}

export interface E2eSession {
  cluster: EtcdCluster;
  /** A connection of the test's own, for writes "by someone else". */
  conn: EtcdConnection;
  workbench: Workbench;
  page: Page;
  /** Browser dialogs (alert/confirm) that fired: a hostile key must never cause one. */
  dialogs: string[];
  /** The workspace folder opened in the workbench (a temp dir). */
  workspace: string;
}

/**
 * Mocha hooks for an E2E suite: a seeded single-member etcd, the packaged .vsix installed into a fresh VS Code
 * server, Chromium on the workbench (the chat side bar hidden), a failure screenshot, and cleanup.
 * `configured` pre-configures a "demo etcd" connection to the cluster.
 */
export function seededWorkbench(name: string, options: { configured: boolean; viewport?: { width: number; height: number } }): E2eSession {
  const session = { dialogs: [] as string[] } as E2eSession;
  let workspace: string | undefined;

  before(async function () {
    this.timeout(120_000);
    session.cluster = await EtcdCluster.start();
    session.conn = new EtcdConnection({ id: 'seed', name: 'seed', endpoints: session.cluster.endpoints }, {}, silentLogger);
    await seedDemo(session.conn);
    const vsix = join(repoRoot, 'etcd-explorer.vsix');
    if (!existsSync(vsix)) execFileSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: 'ignore' });
    workspace = mkdtempSync(join(tmpdir(), `etcd-e2e-${name}-`));
    session.workspace = workspace;
    session.workbench = await openWorkbench({
      workspaceFolder: workspace,
      vsix,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      settings: {
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'chat.disableAIFeatures': true,
        ...(options.configured ? { 'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: session.cluster.endpoints }] } : {}),
      },
    });
    session.page = session.workbench.page;
    session.page.on('dialog', (d) => {
      session.dialogs.push(d.message());
      void d.dismiss();
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && session.workbench) {
      // One file per failed test, so a later failure does not overwrite the first one's picture.
      const test = this.currentTest.title.replace(/[^\w]+/g, '-').slice(0, 40);
      await screenshot(session.page, `failure-${name}-${test}`);
    }
  });

  after(async () => {
    await session.workbench?.close();
    await session.conn?.close();
    await session.cluster?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  return session;
}
