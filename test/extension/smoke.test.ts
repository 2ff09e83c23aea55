import * as assert from 'assert';
import * as vscode from 'vscode';

describe('extension host rig', () => {
  it('runs in a real VS Code web workbench with the rig settings and the runner environment', () => {
    assert.match(vscode.version, /^\d+\.\d+\.\d+/);
    assert.ok(vscode.env.appHost.length > 0, 'appHost is reported');
    assert.strictEqual(vscode.env.uiKind, vscode.UIKind.Web);
    // The rig's User/settings.json is in effect: nothing may phone home.
    assert.strictEqual(vscode.workspace.getConfiguration('telemetry').get('telemetryLevel'), 'off');
    assert.strictEqual(vscode.env.isTelemetryEnabled, false);
    // The extension host inherits the server's environment.
    assert.strictEqual(process.env.ETCD_EXPLORER_EXTENSION_HOST, '1');
    assert.strictEqual(vscode.workspace.workspaceFolders?.length, 1);
  });
});
