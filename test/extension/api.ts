import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ExtensionApi } from '../../src/api';

/** The extension's API (activating it if needed). */
export async function api(): Promise<ExtensionApi> {
  const extension = vscode.extensions.getExtension<ExtensionApi>('etcd-explorer.etcd-explorer');
  assert.ok(extension, 'etcd-explorer.etcd-explorer is installed');
  return extension.activate();
}

/** Endpoints of the etcd the runner started for this suite (passed through the server's environment). */
export function testEndpoints(): string[] {
  const raw = process.env.ETCD_EXPLORER_TEST_ENDPOINTS;
  assert.ok(raw, 'ETCD_EXPLORER_TEST_ENDPOINTS is set by the runner');
  return raw.split(',');
}
