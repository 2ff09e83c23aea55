/**
 * Runs a real VS Code offline: the VS Code server bundled with code-server (on Node 24) plus headless
 * Chromium driven by playwright-core. Installed by scripts/setup-vscode-server.sh; facts in RIG.md.
 *
 * Everything listens on 127.0.0.1, the server gets its own user data, XDG dirs and TMPDIR, and its
 * settings turn telemetry, experiments and update checks off so nothing tries to leave the machine.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as util from 'util';
import { BrowserContext, chromium, Page } from 'playwright-core';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/** Settings without which the server's extension host and agent host try public telemetry hosts. */
const OFFLINE_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'workbench.enableExperiments': false,
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'npm.fetchOnlinePackageInfo': false,
  // Quieter, more deterministic UI for tests and screenshots.
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  // Desktop VS Code's default. The web build (this server) defaults to "afterDelay": an auto save 1 s after an
  // edit runs the save participants, and an explicit save that arrives meanwhile (a test's document.save() or
  // Ctrl+S from a slow extension host) is dropped as "recursive" and returns false without writing.
  'files.autoSave': 'off',
  // No chat/agent UI: it takes screen space and its agent host looks for GitHub sessions.
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

interface RigPaths {
  node: string;
  serverMain: string;
}

export interface ServerOptions {
  /** Folder opened in the workbench. */
  workspaceFolder: string;
  /** Merged over the offline settings into User/settings.json. */
  settings?: Record<string, unknown>;
  /** Only recorded for callers; development extensions are passed to the browser via `payload`. */
  extensionDevelopmentPath?: string;
  /** .vsix files installed into the server's extensions dir before it starts. */
  installExtensions?: string[];
  /** Extra environment for the server; its extension host process inherits it. */
  env?: Record<string, string>;
  /** Copy the server's stdout/stderr to this process's stdout (prefixed). Default: only on failure. */
  echoOutput?: boolean;
  /**
   * `--enable-smoke-test-driver` (default false). A built workbench honours the URL `payload`
   * (extensionDevelopmentPath, extensionTestsPath) only with it, but it also suppresses notification
   * toasts (they only reach the notification center).
   */
  smokeTestDriver?: boolean;
}

export interface VscodeServer {
  port: number;
  url: string;
  userDataDir: string;
  extensionsDir: string;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export function readRigPaths(): RigPaths {
  const cache = process.env.ETCD_EXPLORER_RIG_CACHE ?? path.join(os.homedir(), '.cache', 'etcd-explorer-rig');
  const file = path.join(cache, 'paths.json');
  let parsed: Partial<RigPaths>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RigPaths>;
  } catch {
    throw new Error(`VS Code server rig not installed (${file} missing): run scripts/setup-vscode-server.sh`);
  }
  if (!parsed.node || !parsed.serverMain || !fs.existsSync(parsed.node) || !fs.existsSync(parsed.serverMain)) {
    throw new Error(`${file} points at missing files: run scripts/setup-vscode-server.sh`);
  }
  return { node: parsed.node, serverMain: parsed.serverMain };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// Process groups and temp dirs to reap if the runner exits without stop() (Ctrl-C, uncaught error).
const liveGroups = new Set<number>();
const liveDirs = new Set<string>();
let reaperInstalled = false;

function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
    for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', reap);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      reap();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A temp dir that is removed on exit/Ctrl-C if the caller does not remove it first. */
export function makeTempDir(prefix: string): string {
  installReaper();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

/** Removes a dir made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  liveDirs.delete(dir);
}

function makeTempLayout() {
  const root = makeTempDir('etcd-explorer-vscode-');
  const dir = (name: string) => {
    const p = path.join(root, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };
  return {
    root,
    userData: dir('user-data'),
    extensions: dir('extensions'),
    xdgConfig: dir('xdg/config'),
    xdgData: dir('xdg/data'),
    xdgCache: dir('xdg/cache'),
    xdgState: dir('xdg/state'),
    xdgRuntime: dir('xdg/runtime'),
    tmp: dir('tmp'),
    home: dir('home'),
  };
}

function runToCompletion(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}:\n${out}`)),
    );
  });
}

export async function startVscodeServer(opts: ServerOptions): Promise<VscodeServer> {
  const rig = readRigPaths();
  installReaper();
  const dirs = makeTempLayout();
  const removeDirs = () => removeTempDir(dirs.root);

  try {
    fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(dirs.userData, 'User', 'settings.json'),
      JSON.stringify({ ...OFFLINE_SETTINGS, ...opts.settings }, null, 2),
    );

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...opts.env,
      HOME: dirs.home,
      XDG_CONFIG_HOME: dirs.xdgConfig,
      XDG_DATA_HOME: dirs.xdgData,
      XDG_CACHE_HOME: dirs.xdgCache,
      XDG_STATE_HOME: dirs.xdgState,
      XDG_RUNTIME_DIR: dirs.xdgRuntime,
      TMPDIR: dirs.tmp,
      // Nothing answers there: the extensions view stays empty instead of calling the public gallery.
      EXTENSIONS_GALLERY: JSON.stringify({
        serviceUrl: 'http://127.0.0.1:9/gallery',
        itemUrl: 'http://127.0.0.1:9/item',
        resourceUrlTemplate: 'http://127.0.0.1:9/resource',
      }),
      VSCODE_CLI_TELEMETRY_DISABLED: '1',
    };
    // The test runner's own Node options (e.g. --require hooks) must not leak into Node 24.
    delete env.NODE_OPTIONS;
    delete env.ELECTRON_RUN_AS_NODE;

    const dataArgs = [
      '--user-data-dir',
      dirs.userData,
      '--server-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
    ];

    for (const vsix of opts.installExtensions ?? []) {
      await runToCompletion(
        rig.node,
        [
          rig.serverMain,
          ...dataArgs,
          '--accept-server-license-terms',
          '--install-extension',
          path.resolve(vsix),
          '--force',
        ],
        env,
      );
    }

    const port = await freePort();
    // setpriv --pdeathsig: the server dies with the runner even if the runner is SIGKILLed; the extension
    // host and pty host watch their parent and follow.
    const [cmd, ...prefix] = fs.existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', '--pdeathsig', 'SIGKILL', rig.node]
      : [rig.node];
    const child = spawn(
      cmd,
      [
        ...prefix,
        rig.serverMain,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--without-connection-token',
        '--accept-server-license-terms',
        ...(opts.smokeTestDriver ? ['--enable-smoke-test-driver'] : []),
        '--disable-telemetry',
        ...dataArgs,
      ],
      // Own process group, so stop() reaches the extension host and pty host too.
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );

    if (child.pid !== undefined) liveGroups.add(child.pid);
    let output = '';
    const onData = (stream: string) => (d: Buffer) => {
      const text = d.toString();
      output += text;
      if (opts.echoOutput) {
        for (const line of text.split('\n')) if (line.trim()) process.stdout.write(`[server${stream}] ${line}\n`);
      }
    };
    child.stdout!.on('data', onData(''));
    child.stderr!.on('data', onData(':err'));

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (child.pid !== undefined) {
        killGroup(child.pid, 'SIGTERM');
        if (!(await waitForExit(child, 5000))) killGroup(child.pid, 'SIGKILL');
        await waitForExit(child, 2000);
        // Extension host / pty host may outlive the server for a moment.
        await delay(100);
        killGroup(child.pid, 'SIGKILL');
        liveGroups.delete(child.pid);
      }
      removeDirs();
    };

    const base = `http://127.0.0.1:${port}`;
    // Generous: on a busy machine the server takes long to answer; this is a limit, not a measurement.
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await stop();
        throw new Error(`VS Code server exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
      }
      if ((await httpStatus(`${base}/version`)) === 200 || (await httpStatus(`${base}/`)) === 200) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`VS Code server did not answer on ${base} within 90 s:\n${output}`);
      }
      await delay(100);
    }

    const folder = path.resolve(opts.workspaceFolder);
    return {
      port,
      url: `${base}/?folder=${encodeURIComponent(folder)}`,
      userDataDir: dirs.userData,
      extensionsDir: dirs.extensions,
      output: () => output,
      stop,
    };
  } catch (err) {
    removeDirs();
    throw err;
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = makeTempDir('etcd-explorer-chromium-');
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      // Keeps Chromium's crash-report database and caches out of the real home.
      env: {
        ...process.env,
        XDG_CONFIG_HOME: path.join(profile, 'xdg-config'),
        XDG_CACHE_HOME: path.join(profile, 'xdg-cache'),
      },
      viewport: opts.viewport ?? { width: 1400, height: 900 },
    });
    // Limits, not measurements: on a busy machine a first workbench load or a click can take well over the
    // 30 s defaults. Every wait still waits for something specific.
    context.setDefaultTimeout(120_000);
    context.setDefaultNavigationTimeout(120_000);
    const page = context.pages()[0] ?? (await context.newPage());
    // The persistent context's first page does not take the context's defaults.
    page.setDefaultTimeout(120_000);
    page.setDefaultNavigationTimeout(120_000);
    return {
      context,
      page,
      close: async () => {
        await context.close().catch(() => undefined);
        removeTempDir(profile);
      },
    };
  } catch (err) {
    removeTempDir(profile);
    throw err;
  }
}

/** `vscode-remote://127.0.0.1:P/abs/path`: how the web workbench names files on the server. */
export function remoteUri(port: number, absPath: string): string {
  return `vscode-remote://127.0.0.1:${port}${path.resolve(absPath)}`;
}

function payloadUrl(server: VscodeServer, entries: [string, string][]): string {
  return `${server.url}&payload=${encodeURIComponent(JSON.stringify(entries))}`;
}

export interface ExtensionTestOptions {
  extensionDevelopmentPath: string;
  /** Module exporting `run(): Promise<void>` (the compiled .js). */
  extensionTestsPath: string;
  workspaceFolder: string;
  settings?: Record<string, unknown>;
  timeoutMs?: number;
  /** Reaches the extension host through the server's environment. */
  env?: Record<string, string>;
}

/** Copies what gets appended to `file` to stdout while it runs; the returned function flushes and stops. */
function tailFile(file: string): () => void {
  let offset = 0;
  const pump = () => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      process.stdout.write(buf);
    } finally {
      fs.closeSync(fd);
    }
  };
  const timer = setInterval(pump, 200);
  return () => {
    clearInterval(timer);
    pump();
  };
}

/**
 * Runs an extension-host test suite in the real workbench and returns its exit code (0 = passed).
 * The suite's console output (mocha's reporter) reaches stdout through the ETCD_EXPLORER_HOST_LOG file
 * that test/extension/index.ts tees into; the extension host inherits the server's environment.
 */
export async function runExtensionTests(opts: ExtensionTestOptions): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const verbose = process.env.ETCD_EXPLORER_RIG_VERBOSE === '1';
  const logDir = makeTempDir('etcd-explorer-hostlog-');
  const logFile = path.join(logDir, 'extension-host.log');
  fs.writeFileSync(logFile, '');
  const stopTail = tailFile(logFile);
  let server: VscodeServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startVscodeServer({
      workspaceFolder: opts.workspaceFolder,
      settings: opts.settings,
      env: { ...opts.env, ETCD_EXPLORER_HOST_LOG: logFile },
      extensionDevelopmentPath: opts.extensionDevelopmentPath,
      echoOutput: verbose,
      smokeTestDriver: true,
    });
    browser = await launchBrowser();
    const { page } = browser;

    let settle!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (settle = resolve));
    await page.exposeFunction('codeAutomationExit', (code: number) => settle(Number(code)));
    if (verbose) forwardConsole(page);
    page.on('pageerror', (err) => process.stdout.write(`[page error] ${err.message}\n`));

    const url = payloadUrl(server, [
      ['extensionDevelopmentPath', remoteUri(server.port, opts.extensionDevelopmentPath)],
      ['extensionTestsPath', remoteUri(server.port, opts.extensionTestsPath)],
    ]);
    // 'commit', not 'load': on a starved machine the workbench's scripts take minutes to load; the exit code is
    // what this waits for.
    await page.goto(url, { waitUntil: 'commit' });

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        process.stdout.write(`[rig] extension tests did not finish within ${timeoutMs} ms\n`);
        resolve(124);
      }, timeoutMs);
    });
    const code = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    stopTail();
    if (code !== 0 && !verbose) {
      process.stdout.write(`[rig] extension host exited ${code}; server output:\n${server.output()}\n`);
    }
    return code;
  } finally {
    stopTail();
    await browser?.close();
    await server?.stop();
    removeTempDir(logDir);
  }
}

/** Copies the page's console to stdout, undoing the workbench logger's `%c LEVEL` styling. */
export function forwardConsole(page: Page): void {
  page.on('console', async (msg) => {
    let values: unknown[];
    try {
      values = await Promise.all(msg.args().map((a) => a.jsonValue().catch(() => '<unserializable>')));
    } catch {
      values = [msg.text()];
    }
    let level: string = msg.type();
    if (typeof values[0] === 'string' && /^%c\s*\w+/.test(values[0])) {
      level = values[0]
        .replace(/^%c\s*/, '')
        .trim()
        .toLowerCase();
      values = values.slice(2);
    }
    const text = values.length ? util.format(...values) : msg.text();
    process.stdout.write(`[browser:${level}] ${text}\n`);
  });
}

export interface Workbench {
  page: Page;
  server: VscodeServer;
  browser: Browser;
  close(): Promise<void>;
}

export interface WorkbenchOptions {
  workspaceFolder: string;
  /** Load the extension from source (development mode). */
  extensionDevelopmentPath?: string;
  /** Or install a packaged .vsix into the server first. */
  vsix?: string;
  settings?: Record<string, unknown>;
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
  /**
   * Default: on with extensionDevelopmentPath (the payload needs it), off with a .vsix. With it on,
   * notification toasts are not shown; assert on the notification center instead.
   */
  smokeTestDriver?: boolean;
}

/** Server + browser with the workbench open and visible, for E2E tests. */
export async function openWorkbench(opts: WorkbenchOptions): Promise<Workbench> {
  const server = await startVscodeServer({
    workspaceFolder: opts.workspaceFolder,
    settings: opts.settings,
    env: opts.env,
    extensionDevelopmentPath: opts.extensionDevelopmentPath,
    installExtensions: opts.vsix ? [opts.vsix] : [],
    smokeTestDriver: opts.smokeTestDriver ?? opts.extensionDevelopmentPath !== undefined,
    echoOutput: process.env.ETCD_EXPLORER_RIG_VERBOSE === '1',
  });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser({ viewport: opts.viewport });
    const page = browser.page;
    if (process.env.ETCD_EXPLORER_RIG_VERBOSE === '1') forwardConsole(page);
    const url = opts.extensionDevelopmentPath
      ? payloadUrl(server, [['extensionDevelopmentPath', remoteUri(server.port, opts.extensionDevelopmentPath)]])
      : server.url;
    // Wait for the workbench itself, not the page's 'load' event (minutes on a starved machine).
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 300_000 });
    const b = browser;
    return {
      page,
      server,
      browser: b,
      close: async () => {
        await b.close();
        await server.stop();
      },
    };
  } catch (err) {
    await browser?.close();
    await server.stop();
    throw err;
  }
}

/**
 * Runs a command through the command palette by its exact label, category included
 * (e.g. "etcd: Add Connection…"). Enter would pick a fuzzy match, so the exact row is clicked.
 * Contributed commands appear only once the extension host has scanned the extensions, so the palette
 * is reopened until the row shows up or `timeoutMs` passes.
 */
export async function runCommand(page: Page, title: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page
    .locator('.quick-input-widget .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
    .first();
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    // F1 opens the palette with ">" already typed; fill replaces it.
    await input.fill(`>${title}`);
    try {
      // Longer each time: on a busy machine the filtered list can take seconds to render.
      await row.waitFor({ state: 'visible', timeout: Math.min(1_500 * 2 ** attempt, 20_000) });
      await row.click();
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) {
        throw new Error(`command palette has no entry "${title}" after ${timeoutMs} ms`, { cause: err });
      }
      await delay(250);
    }
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Saves `test-artifacts/<name>.png` at the repo root and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(repoRoot, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name.endsWith('.png') ? name : `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
