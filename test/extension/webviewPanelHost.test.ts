import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Logger } from '../../src/etcd/logger';
import { WebviewPanelHost, WebviewPanels } from '../../src/host/webviewPanelHost';

type ToWebview = { type: 'init'; n: number } | { type: 'tick'; n: number } | { type: 'answer'; text: string };
type FromWebview = { type: 'ready' } | { type: 'ask'; text: string } | { type: 'fail' };

function parse(raw: unknown): FromWebview | undefined {
  const m = raw as Record<string, unknown> | null;
  if (m?.type === 'ready' || m?.type === 'fail') return { type: m.type };
  if (m?.type === 'ask' && typeof m.text === 'string') return { type: 'ask', text: m.text };
  return undefined;
}

/** The webview side of a panel, driven by the test: what the host posted, and messages "from the webview". */
class WebviewSide {
  readonly sent: ToWebview[] = [];
  readonly incoming = new vscode.EventEmitter<unknown>();
  readonly viewState = new vscode.EventEmitter<void>();
  readonly disposed = new vscode.EventEmitter<void>();
  closed = false;
  visible = true;
  readonly title = 'host kit test';
  iconPath: unknown;
  readonly webview = {
    options: {},
    html: '',
    cspSource: 'vscode-resource:',
    asWebviewUri: (uri: vscode.Uri) => uri,
    onDidReceiveMessage: this.incoming.event,
    postMessage: async (m: ToWebview) => {
      this.sent.push(m);
      return true;
    },
  };
  readonly onDidChangeViewState = this.viewState.event;
  readonly onDidDispose = this.disposed.event;
  dispose(): void {
    this.closed = true;
    this.disposed.fire();
  }
  reveal(): void {}
  hide(): void {
    this.visible = false;
    this.viewState.fire();
  }
}

class TestPanel extends WebviewPanelHost<ToWebview, FromWebview> {
  ticks = 0;
  tick(): void {
    this.post({ type: 'tick', n: ++this.ticks });
  }
  keep(state: unknown): void {
    this.remember(state);
  }
  answer(text: string): void {
    this.post({ type: 'answer', text });
  }
  protected onReady(): void {
    this.post({ type: 'init', n: this.ticks });
  }
  protected async onMessage(message: Exclude<FromWebview, { type: 'ready' }>): Promise<void> {
    switch (message.type) {
      case 'ask':
        this.answer(message.text.toUpperCase());
        return;
      case 'fail':
        throw new Error('handler failed on purpose');
    }
  }
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const line = (level: string) => (m: string) => lines.push(`${level} ${m}`);
  return {
    lines,
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  };
}

/** Lets handlers that already ran settle (promise callbacks), without waiting for time to pass. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('webview panel host kit', () => {
  const extensionUri = vscode.Uri.file('/ext');

  function open(): { side: WebviewSide; host: TestPanel; log: ReturnType<typeof capturingLogger> } {
    const side = new WebviewSide();
    const log = capturingLogger();
    const host = new TestPanel(
      side as unknown as vscode.WebviewPanel,
      { extensionUri, log },
      { bundle: 'test', parse, resentOnReady: ['init', 'tick'] },
    );
    return { side, host, log };
  }

  it('renders the shell with the shared resource roots and a nonce-only script policy', () => {
    const { side, host } = open();
    const options = side.webview.options as vscode.WebviewOptions;
    assert.equal(options.enableScripts, true);
    assert.deepEqual(
      options.localResourceRoots?.map((u) => u.path),
      ['/ext/dist', '/ext/media'],
    );
    assert.match(side.webview.html, /default-src 'none'/);
    assert.match(side.webview.html, /<script nonce="[^"]+" src="file:\/\/\/ext\/dist\/webview\/test\.js">/);
    host.dispose();
  });

  it('queues one-shot messages until ready, drops what ready sends again, and sends the snapshot first', () => {
    const { side, host } = open();
    host.tick();
    host.answer('queued');
    assert.deepEqual(side.sent, [], 'nothing reaches a webview that is not ready');
    side.incoming.fire({ type: 'ready' });
    assert.deepEqual(side.sent, [
      { type: 'init', n: 1 },
      { type: 'answer', text: 'queued' },
    ]);
    host.tick();
    assert.deepEqual(side.sent.at(-1), { type: 'tick', n: 2 }, 'once ready, messages go straight out');
    host.dispose();
  });

  it('waits for ready again after the webview was hidden (its page is torn down)', () => {
    const { side, host } = open();
    side.incoming.fire({ type: 'ready' });
    side.hide();
    host.tick();
    host.answer('while hidden');
    assert.deepEqual(side.sent, [{ type: 'init', n: 0 }]);
    side.visible = true;
    side.incoming.fire({ type: 'ready' });
    assert.deepEqual(side.sent.slice(1), [
      { type: 'init', n: 1 },
      { type: 'answer', text: 'while hidden' },
    ]);
    host.dispose();
  });

  it('passes validated messages to the handler, ignores and logs invalid ones', async () => {
    const { side, host, log } = open();
    side.incoming.fire({ type: 'ready' });
    side.incoming.fire({ type: 'ask', text: 'hello' });
    side.incoming.fire({ type: 'ask', text: 42 });
    side.incoming.fire('not an object');
    await settle();
    assert.deepEqual(side.sent.slice(1), [{ type: 'answer', text: 'HELLO' }]);
    assert.equal(
      log.lines.filter((l) => l.startsWith('warn ') && l.includes('invalid message')).length,
      2,
      log.lines.join('\n'),
    );
    host.dispose();
  });

  it('logs a failing handler instead of dropping the rejection', async () => {
    const { side, host, log } = open();
    side.incoming.fire({ type: 'ready' });
    side.incoming.fire({ type: 'fail' });
    await settle();
    assert.ok(
      log.lines.some((l) => l.startsWith('error ') && l.includes('"fail" failed: handler failed on purpose')),
      log.lines.join('\n'),
    );
    host.dispose();
  });

  it('is disposed with its panel and posts nothing afterwards', () => {
    const { side, host } = open();
    side.incoming.fire({ type: 'ready' });
    side.dispose();
    host.answer('too late');
    assert.deepEqual(side.sent, [{ type: 'init', n: 0 }]);
  });

  it('on extension shutdown stops posting but leaves the panel open, so VS Code can restore it after a reload', () => {
    const { side, host } = open();
    side.incoming.fire({ type: 'ready' });
    host.release();
    host.answer('after shutdown');
    assert.equal(side.closed, false, 'the panel is still open');
    assert.deepEqual(side.sent, [{ type: 'init', n: 0 }]);
  });

  it("keeps a copy of each panel's restorable state in the workspace: kept at shutdown, dropped when the user closes it", async () => {
    const store = new Map<string, unknown>();
    const memento = {
      keys: () => [...store.keys()],
      get: (key: string) => store.get(key),
      update: async (key: string, value: unknown) => void store.set(key, value),
    } as unknown as vscode.Memento;
    const log = capturingLogger();
    const registry = new WebviewPanels<TestPanel>(
      'etcd.hostKitTest',
      { extensionUri, log, memento },
      async () => undefined,
    );
    const track = async () => {
      const side = new WebviewSide();
      const host = await registry.track(
        new TestPanel(
          side as unknown as vscode.WebviewPanel,
          { extensionUri, log },
          { bundle: 'test', parse, resentOnReady: [] },
        ),
      );
      return { side, host };
    };
    const first = await track();
    first.host.keep({ at: 1 });
    first.host.keep({ at: 2 });
    assert.deepEqual(store.get('webviewPanels.etcd.hostKitTest'), { 'host kit test': { at: 2 } });
    first.side.dispose();
    assert.deepEqual(store.get('webviewPanels.etcd.hostKitTest'), {}, 'closed by the user: nothing to restore');
    const second = await track();
    second.host.keep({ at: 3 });
    registry.dispose();
    assert.equal(second.side.closed, false, 'released, not closed');
    assert.deepEqual(
      store.get('webviewPanels.etcd.hostKitTest'),
      { 'host kit test': { at: 3 } },
      'kept for the next window',
    );
  });
});
