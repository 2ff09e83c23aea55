/**
 * `npm run test:electron`: the extension-host suite under @vscode/test-electron, for machines that can download
 * VS Code (this project's offline CI cannot; it uses runExtensionHost.ts with code-server's VS Code server).
 */
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { EtcdCluster, registerCleanup } from './etcd';

async function main(): Promise<number> {
  registerCleanup();
  const root = path.resolve(__dirname, '..', '..', '..');
  const cluster = await EtcdCluster.start();
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'out', 'test', 'extension', 'index.js'),
      extensionTestsEnv: { ETCD_EXPLORER_TEST_ENDPOINTS: cluster.endpoints.join(',') },
      launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
    });
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    return 1;
  } finally {
    await cluster.stop();
  }
}

void main().then((code) => process.exit(code));
