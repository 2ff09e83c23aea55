/**
 * `npm run demo`: what a new user gets. A local etcd (from PATH) on free loopback ports seeded with a sample
 * keyspace and leases; the extension packaged as a .vsix and installed into a VS Code server (from code-server)
 * the way a user installs it; a workspace with sample files; and settings with a connection to that etcd which
 * opens on start (`etcd.autoConnect`), so the first thing seen is the etcd view listing the seeded keys.
 * Prints one URL; Ctrl-C stops etcd and VS Code and removes every temp dir.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdConnection } from '../src/etcd/connection';
import { errorText } from '../src/etcd/errors';
import { silentLogger } from '../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../test/rig/etcd';
import { makeTempDir, removeTempDir, repoRoot, startVscodeServer } from '../test/rig/vscodeServer';
import { seedDemo } from './seedDemo';

/** Runs a command quietly; prints its output only when it fails. */
function quietly(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    process.stderr.write(`${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw new Error(`${command} ${args.join(' ')} failed`, { cause: err });
  }
}

function writeWorkspace(dir: string): void {
  writeFileSync(
    join(dir, 'README.md'),
    [
      '# etcd Explorer demo',
      '',
      'The etcd view (activity bar) lists the demo etcd. Then try:',
      '',
      '- `rollout.etcdtxn.yaml`: a Txn document — **Dry run** or **Run against demo etcd** from its CodeLens.',
      '- `new-services.json`: **etcd: Bulk Put from File…** writes it in Txn batches.',
      '- **etcd: Show Latency…** (graphs, load test) and **etcd: Run Health Check**.',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'rollout.etcdtxn.yaml'),
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
    join(dir, 'new-services.json'),
    JSON.stringify(
      Object.fromEntries(
        Array.from({ length: 300 }, (_, i) => [
          `/services/inventory/instance-${i}`,
          JSON.stringify({ addr: `10.0.4.${i % 250}:8080` }),
        ]),
      ),
      null,
      2,
    ),
  );
}

async function main(): Promise<void> {
  // Until the URL is printed, Ctrl-C goes to the rig's reapers (SIGKILL children, remove temp dirs).
  registerCleanup();
  console.log('Starting etcd…');
  const cluster = await EtcdCluster.start();
  const conn = new EtcdConnection({ id: 'demo', name: 'demo', endpoints: cluster.endpoints }, {}, silentLogger);
  const seeded = await seedDemo(conn);
  await conn.close();
  console.log(
    `etcd on ${cluster.endpoints.map((e) => e.replace(/^https?:\/\//, '')).join(', ')}: ${seeded.keys} keys, ${seeded.leases} leases.`,
  );

  console.log('Packaging the extension (.vsix)…');
  quietly('npm', ['run', 'package', '--silent']);
  console.log('Preparing the VS Code server (the first run installs it, ~2 min)…');
  quietly('bash', [join(repoRoot, 'scripts', 'setup-vscode-server.sh')]);

  const workspace = makeTempDir('etcd-demo-ws-');
  writeWorkspace(workspace);
  const server = await startVscodeServer({
    workspaceFolder: workspace,
    installExtensions: [join(repoRoot, 'etcd-explorer.vsix')],
    settings: {
      'etcd.connections': [{ id: 'demo', name: 'demo etcd', endpoints: cluster.endpoints }],
      'etcd.autoConnect': ['demo'],
    },
  });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) process.exit(130); // A second Ctrl-C: the exit reapers SIGKILL what is left.
    stopping = true;
    console.log('\nStopping VS Code and etcd…');
    try {
      await server.stop();
      await cluster.stop();
      removeTempDir(workspace);
      console.log('Stopped.');
      process.exit(0);
    } catch (err) {
      console.error(errorText(err));
      process.exit(1);
    }
  };
  // From here on, Ctrl-C stops gracefully instead of through the reapers (which stay installed for 'exit').
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void stop());
  }
  console.log(`\nOpen VS Code with etcd Explorer:\n  ${server.url}\n`);
  console.log('Press Ctrl-C to stop etcd and VS Code and remove the temp data.');
}

main().catch((err) => {
  console.error(errorText(err));
  process.exit(1);
});
