import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  makeTempDir,
  openWorkbench,
  removeTempDir,
  repoRoot,
  runCommand,
  screenshot,
  Workbench,
} from '../rig/vscodeServer';

describe('workbench smoke', () => {
  let workspace: string;
  let wb: Workbench | undefined;

  before(async () => {
    workspace = makeTempDir('etcd-explorer-e2e-ws-');
    fs.writeFileSync(path.join(workspace, 'README.md'), '# e2e workspace\n');
    wb = await openWorkbench({ workspaceFolder: workspace, extensionDevelopmentPath: repoRoot });
  });

  after(async () => {
    await wb?.close();
    removeTempDir(workspace);
  });

  it('opens the real VS Code workbench with the extension loaded and shows its view', async () => {
    const page = wb!.page;
    // The workspace folder is open in the explorer.
    await page
      .locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' })
      .waitFor({ timeout: 120_000 });
    // The development extension contributes the etcd view container; its welcome view offers a connection.
    await runCommand(page, 'etcd: Focus on Connections View');
    await page
      .getByRole('button', { name: 'Connect to localhost:2379', exact: true })
      .waitFor({ state: 'visible', timeout: 120_000 });
    const file = await screenshot(page, 'workbench');
    assert.ok(fs.statSync(file).size > 10_000, 'screenshot written');
  });
});
