import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Frame, Locator, Page } from 'playwright-core';
import { EtcdConnection } from '../../src/etcd/connection';
import { silentLogger } from '../../src/etcd/logger';
import { seedDemo } from '../../scripts/seedDemo';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { Workbench, openWorkbench, repoRoot, runCommand, screenshot } from '../rig/vscodeServer';

registerCleanup();

/** The row of the etcd view whose label is exactly `label`. */
export function treeRow(page: Page, label: string) {
  return page
    .locator('.pane-body .monaco-list-row')
    .filter({
      has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
    })
    .first();
}

/** The frame of a webview (nested iframes), found by something only it contains. */
export async function webviewFrame(
  page: Page,
  selector: string,
  hasText?: RegExp,
  timeoutMs = 120_000,
): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      // A frame still being created may never answer (count() has no timeout of its own): ask it again later.
      const count = frame
        .locator(selector, hasText ? { hasText } : {})
        .count()
        .catch(() => 0);
      if (await Promise.race([count, delay(2_000).then(() => 0)])) return frame;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview shows ${selector}${hasText ? ` ${hasText}` : ''}`);
}

/**
 * Known state before a test's own action: menus and quick input dismissed, every editor closed. Waits until no
 * editor tab is left, so a later wait on editor text can only match what the test itself opens.
 */
export async function closeAllEditors(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  if ((await page.locator('.part.editor .tab').count()) === 0) return;
  await runCommand(page, 'View: Close All Editors');
  await page.waitForFunction(() => document.querySelectorAll('.part.editor .tab').length === 0, undefined, {
    timeout: 120_000,
  });
}

/**
 * VS Code in the browser keeps its open editors (webview panels and their state included) in IndexedDB, saved
 * when idle (every 5 s at best, later on a busy machine). A reload before that loses the panel; so wait until the
 * saved editor layout (the `memento/workbench.parts.editor` entry) mentions `text`, e.g. the panel's view type
 * `mainThreadWebview-<viewType>`, which only the test's own panel puts there. (Other entries name the view type
 * as soon as a panel opens, e.g. `webviewPanel.origins`: they say nothing about the editor being saved.)
 */
export async function waitForSavedEditor(page: Page, text: string, timeoutMs = 120_000): Promise<void> {
  // Polled from here, not with page.waitForFunction: that takes the Promise an async predicate returns as truthy
  // and resolves at once (which made the reload tests depend on the machine's timing).
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(savedEditorMentions, text))) {
    if (Date.now() > deadline) throw new Error(`the saved editor layout never mentioned ${text}`);
    await page.waitForTimeout(500);
  }
}

/** In the page: whether the saved editor layout of any VS Code state database mentions `needle`. */
async function savedEditorMentions(needle: string): Promise<boolean> {
  const KEY = 'memento/workbench.parts.editor';
  const dbs = (await indexedDB.databases()).filter((d) => d.name?.startsWith('vscode-web-state-db'));
  for (const { name } of dbs) {
    const found = await new Promise<boolean>((resolve) => {
      const open = indexedDB.open(name!);
      open.onerror = () => resolve(false);
      open.onsuccess = () => {
        const db = open.result;
        try {
          const stores = Array.from(db.objectStoreNames);
          const tx = db.transaction(stores, 'readonly');
          let hit = false;
          for (const store of stores) {
            const entry = tx.objectStore(store).get(KEY);
            entry.onsuccess = () => (hit ||= typeof entry.result === 'string' && entry.result.includes(needle));
          }
          tx.oncomplete = () => (db.close(), resolve(hit));
          tx.onerror = () => (db.close(), resolve(false));
        } catch {
          db.close();
          resolve(false);
        }
      };
    });
    if (found) return true;
  }
  return false;
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

/**
 * Clicks the row labelled `label` once it shows, then moves the mouse off the tree: a pointer left on a row opens
 * its tooltip after the hover delay, and on a busy machine that tooltip covers the next row before it is clicked.
 */
export async function clickRow(page: Page, label: string): Promise<void> {
  const row = treeRow(page, label);
  await row.waitFor({ state: 'visible', timeout: 120_000 });
  await row.click();
  await page.mouse.move(0, 0);
}

/**
 * Right-clicks `row` and picks `item` from its context menu until `marker` (something only that item's action
 * produces) shows: the menu is opened again when it did not show the item or closed without running it, for at
 * most 240 s in all.
 */
export async function contextMenuUntil(page: Page, row: Locator, item: string, marker: Locator): Promise<void> {
  const menu = page.locator('.context-view .monaco-menu');
  const menuItem = menu.locator('.action-label', { hasText: item });
  // Bounded as a whole (a test's budget is 600 s): a menu that never shows its item costs 20 s per attempt.
  const deadline = Date.now() + 240_000;
  for (let attempt = 1; ; attempt++) {
    if (await marker.isVisible()) return;
    await row.click({ button: 'right' });
    if (await menuItem.waitFor({ timeout: 20_000 }).then(ok, no)) {
      // A VS Code menu item starts listening for mouse-up 100 ms (a timer) after it renders: on a busy machine
      // a click can come first and is ignored, the menu staying open (seen in a CI failure screenshot). A user
      // is never that fast; the test clicks again until the menu closes.
      for (let click = 0; click < 10 && (await menuItem.isVisible()); click++) {
        await menuItem.click({ timeout: 5_000 }).catch(no);
        await menu.waitFor({ state: 'hidden', timeout: 2_000 }).catch(no);
      }
      if (!(await menu.isVisible()) && (await marker.waitFor({ timeout: 60_000 }).then(ok, no))) return;
    }
    if (Date.now() > deadline)
      throw new Error(`"${item}" from the context menu never produced its result (${attempt} right-clicks in 240 s)`);
    await page.keyboard.press('Escape');
  }
}

const ok = (): true => true;
const no = (): false => false;

/**
 * A test's progress on the console (`[name +12.3s] what`): when a test runs out of time, the CI log tells which
 * step it was in and how long each took.
 */
export function stepLog(name: string): (what: string) => void {
  const start = Date.now();
  return (what) => console.log(`      [${name} +${((Date.now() - start) / 1000).toFixed(1)}s] ${what}`);
}

/** Shows the etcd view container through its activity bar icon, and moves the mouse off the icon's tooltip. */
export async function openEtcdView(page: Page): Promise<void> {
  await page.locator('.activitybar .action-item a[aria-label^="etcd"]').click();
  await page.mouse.move(0, 0);
  await page
    .locator('.part.sidebar .composite.title', { hasText: /etcd/i })
    .waitFor({ state: 'visible', timeout: 120_000 });
}

/** Clicks the rows labelled `labels` in turn (expanding folders, opening a key at the end). */
export async function expand(page: Page, labels: string[]): Promise<void> {
  for (const label of labels) await clickRow(page, label);
}

/**
 * Confirms the key in the open "Watch key or prefix" question, then answers the next two: as a prefix, from
 * now. Resolves with the watch panel's frame once its watch is live.
 */
export async function watchAsPrefixFromNow(page: Page, liveTimeoutMs = 120_000): Promise<Frame> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'as…' }).waitFor();
  await input.press('Enter'); // Prefix
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Start' }).waitFor();
  await input.press('Enter'); // From now
  const frame = await webviewFrame(page, '#events');
  await frame.locator('.state.live').first().waitFor({ timeout: liveTimeoutMs });
  return frame;
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
export function seededWorkbench(
  name: string,
  options: { configured: boolean; viewport?: { width: number; height: number } },
): E2eSession {
  const session = { dialogs: [] as string[] } as E2eSession;
  let workspace: string | undefined;

  before(async function () {
    session.cluster = await EtcdCluster.start();
    session.conn = new EtcdConnection(
      { id: 'seed', name: 'seed', endpoints: session.cluster.endpoints },
      {},
      silentLogger,
    );
    await seedDemo(session.conn);
    // Packaged once per run by the runner (runE2e.ts), so a .vsix left from older sources is never tested.
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
        ...(options.configured
          ? { 'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: session.cluster.endpoints }] }
          : {}),
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
      // The server's logs (extension host, the extension's own output channel): why it failed, not just how it looked.
      const logs = join(session.workbench.server.userDataDir, 'logs');
      if (existsSync(logs))
        cpSync(logs, join(repoRoot, 'test-artifacts', 'logs', `failure-${name}-${test}`), { recursive: true });
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
