import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { Browser, launchBrowser, makeTempDir, removeTempDir, repoRoot, screenshot } from '../rig/vscodeServer';

/**
 * The README's front door: `npm run demo` run as a user runs it (its own process group, as a terminal starts it;
 * its own TMPDIR so every temp dir it makes can be checked), the one printed URL opened in Chromium.
 */
describe('npm run demo', function () {
  this.timeout(600_000);
  let demo: ChildProcess | undefined;
  let tmp: string;
  let browser: Browser | undefined;
  let output = '';
  let stdout = '';
  let closed: Promise<void> | undefined;

  before(() => {
    tmp = makeTempDir('etcd-demo-test-');
  });

  after(async () => {
    await browser?.close();
    if (demo?.pid !== undefined && demo.exitCode === null && demo.signalCode === null) {
      // A failed test still stops the demo the way a user does, so its servers stop writing into `tmp`.
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(-demo!.pid!, s);
        } catch {
          // gone
        }
      };
      signal('SIGINT');
      const timer = setTimeout(() => signal('SIGKILL'), 60_000);
      await closed;
      clearTimeout(timer);
    }
    removeTempDir(tmp);
  });

  /** The demo's output until `pattern` appears in it; fails with the output if the demo exits first. */
  function waitForOutput(pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`npm run demo exited (${code ?? signal}) before printing ${pattern}:\n${output}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`npm run demo printed no ${pattern} within ${ms} ms:\n${output}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        demo!.stdout!.off('data', check);
        demo!.off('exit', onExit);
      };
      demo!.stdout!.on('data', check);
      demo!.once('exit', onExit);
      check();
    });
  }

  it('shows the etcd view with the demo connection and its seeded keys, and Ctrl-C stops it and removes its temp data', async () => {
    demo = spawn('npm', ['run', 'demo'], {
      cwd: repoRoot,
      env: { ...process.env, TMPDIR: tmp, FORCE_COLOR: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      stdout += d.toString();
    });
    demo.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // 'close': every process holding the demo's stdout (npm, the shell, node) is gone, not only npm.
    const exited = (closed = new Promise<void>((resolve) => demo!.once('close', () => resolve())));

    const [, etcdPort] = await waitForOutput(/etcd (?:on )?(?:http:\/\/)?127\.0\.0\.1:(\d+)/, 120_000);
    const [, url] = await waitForOutput(/Open VS Code with etcd Explorer:\s*\n\s*(http:\/\/\S+)\s*\n/, 300_000);

    browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
    const page = browser.page;
    await page.goto(url, { waitUntil: 'commit' });
    // Nothing is clicked: the etcd view is what the workbench shows first, with the connection open.
    const sideBarTitle = page.locator('.part.sidebar .composite.title .title-label', { hasText: /etcd/i });
    await sideBarTitle.waitFor({ state: 'visible', timeout: 300_000 });
    const row = (label: string) =>
      page
        .locator('.part.sidebar .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) })
        .first();
    const connection = row('demo etcd');
    await connection.waitFor({ state: 'visible', timeout: 60_000 });
    await row('no-leading-slash').waitFor({ state: 'visible', timeout: 60_000 });
    await row('/').waitFor({ state: 'visible' });
    // Connected: the row's description becomes the server version.
    await page
      .locator('.part.sidebar .monaco-list-row', { hasText: /demo etcd\s*v3\.\d+\.\d+/ })
      .waitFor({ timeout: 60_000 });
    assert.equal(await connection.getAttribute('aria-expanded'), 'true');
    // What the demo prints (npm's own notices go to stderr).
    const urls = stdout.match(/\bhttps?:\/\/\S+/g) ?? [];
    assert.deepEqual(urls, [url], 'the demo prints one URL');
    const shot = await screenshot(page, 'demo');
    // The README's picture is replaced only when asked: a test run leaves the tracked tree as it was.
    if (process.env.ETCD_EXPLORER_UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(repoRoot, 'docs', 'screenshots'), { recursive: true });
      copyFileSync(shot, join(repoRoot, 'docs', 'screenshots', 'demo.png'));
    }
    await browser.close();
    browser = undefined;

    // Ctrl-C in a terminal: SIGINT to the foreground process group.
    process.kill(-demo.pid!, 'SIGINT');
    await Promise.race([
      exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`npm run demo still running 60 s after SIGINT:\n${output}`)), 60_000),
      ),
    ]);
    assert.match(output, /Stopping VS Code and etcd…\s*\nStopped\./);
    assert.deepEqual(readdirSync(tmp), [], 'every temp dir of the demo is gone');
    assert.equal(await answers(new URL(url)), false, 'VS Code stopped');
    assert.equal(await tcpOpen(Number(etcdPort)), false, 'etcd stopped');
  });
});

function answers(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(true);
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
