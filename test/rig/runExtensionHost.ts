/**
 * `node out/test/rig/runExtensionHost.js`: runs the extension-host suite (out/test/extension/index.js)
 * in a real VS Code server + headless Chromium, with this repo as the development extension.
 *
 * The extension host inherits the server's environment, which is this process's environment plus
 * ETCD_EXPLORER_TEST_ENDPOINTS: a throwaway single-member etcd started here unless the variable is
 * already set. ETCD_EXPLORER_EXTENSION_PATH overrides the development extension (rig debugging).
 */
import * as path from 'path';
import { EtcdCluster } from './etcd';
import { makeTempDir, removeTempDir, repoRoot, runExtensionTests } from './vscodeServer';

async function main(): Promise<number> {
  const extensionDevelopmentPath = path.resolve(process.env.ETCD_EXPLORER_EXTENSION_PATH ?? repoRoot);
  const workspaceFolder = makeTempDir('etcd-explorer-ws-');
  const started = Date.now();
  let etcd: EtcdCluster | undefined;
  try {
    let endpoints = process.env.ETCD_EXPLORER_TEST_ENDPOINTS;
    if (!endpoints) {
      etcd = await EtcdCluster.start();
      endpoints = etcd.endpoints.join(',');
    }
    const code = await runExtensionTests({
      extensionDevelopmentPath,
      extensionTestsPath: path.join(repoRoot, 'out', 'test', 'extension', 'index.js'),
      workspaceFolder,
      env: { ETCD_EXPLORER_EXTENSION_HOST: '1', ETCD_EXPLORER_TEST_ENDPOINTS: endpoints },
      timeoutMs: Number(process.env.ETCD_EXPLORER_HOST_TIMEOUT ?? 1_200_000),
    });
    console.log(`[rig] extension-host tests exited ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return code;
  } finally {
    await etcd?.stop();
    removeTempDir(workspaceFolder);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
