/**
 * `npm run demo`: a local etcd (from PATH) on free loopback ports seeded with a sample keyspace and leases, and
 * VS Code in the browser (the VS Code server from code-server) with this extension loaded and a connection to
 * that etcd configured. Prints the URL; Ctrl-C stops everything and removes the temp data.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdConnection } from '../src/etcd/connection';
import { silentLogger } from '../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../test/rig/etcd';
import { remoteUri, repoRoot, startVscodeServer } from '../test/rig/vscodeServer';
import { seedDemo } from './seedDemo';

async function main(): Promise<void> {
  registerCleanup();
  console.log('Starting etcd…');
  const cluster = await EtcdCluster.start();
  const conn = new EtcdConnection({ id: 'demo', name: 'demo', endpoints: cluster.endpoints }, {}, silentLogger);
  const seeded = await seedDemo(conn);
  await conn.close();
  console.log(`etcd ${cluster.endpoints.join(', ')} seeded with ${seeded.keys} keys and ${seeded.leases} leases.`);

  console.log('Preparing VS Code server (first run installs it, ~2 min)…');
  execFileSync('bash', [join(repoRoot, 'scripts', 'setup-vscode-server.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const workspace = mkdtempSync(join(tmpdir(), 'etcd-demo-ws-'));
  writeFileSync(
    join(workspace, 'README.md'),
    [
      '# etcd Explorer demo',
      '',
      'Open the etcd view in the activity bar. Then try:',
      '',
      '- `rollout.etcdtxn.yaml`: a Txn document — **Dry run** or **Run against demo etcd** from its CodeLens.',
      '- `new-services.json`: **etcd: Bulk Put from File…** writes it in Txn batches.',
      '- **etcd: Show Latency…** (graphs, load test) and **etcd: Run Health Check**.',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(workspace, 'rollout.etcdtxn.yaml'),
    [
      '# Turn the new checkout on only if nobody changed the payments config since we looked.',
      'compare:',
      '  - key: /config/payments/limits.json',
      '    target: version',
      '    op: "=="',
      '    value: 1',
      'success:',
      '  - put: { key: /config/payments/limits.json, value: \'{"rps": 1500, "burst": 300}\' }',
      '  - put: { key: /config/feature-flags/new-checkout, value: "true" }',
      'failure:',
      '  - get: { key: /config/payments/limits.json }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(workspace, 'new-services.json'),
    JSON.stringify(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`/services/inventory/instance-${i}`, JSON.stringify({ addr: `10.0.4.${i % 250}:8080` })])), null, 2),
  );
  const server = await startVscodeServer({
    workspaceFolder: workspace,
    extensionDevelopmentPath: repoRoot,
    settings: {
      'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: cluster.endpoints }],
      'workbench.startupEditor': 'none',
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'chat.disableAIFeatures': true,
    },
  });
  const payload = encodeURIComponent(JSON.stringify([['extensionDevelopmentPath', remoteUri(server.port, repoRoot)]]));
  console.log(`\nOpen VS Code with etcd Explorer:\n  ${server.url}&payload=${payload}\n`);
  console.log('Press Ctrl-C to stop etcd and VS Code.');

  const stop = async () => {
    await server.stop();
    await cluster.stop();
    rmSync(workspace, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
