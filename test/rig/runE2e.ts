/**
 * `node out/test/rig/runE2e.js`: runs the E2E suite (out/test/e2e/**\/*.test.js) with mocha in plain Node.
 * Each test drives a real VS Code server + headless Chromium through ./vscodeServer (openWorkbench).
 * ETCD_EXPLORER_TEST_GREP filters tests by title.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import Mocha = require('mocha');
import { repoRoot } from './vscodeServer';

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findTests(full);
    return entry.isFile() && entry.name.endsWith('.test.js') ? [full] : [];
  });
}

// One limit for every test and hook, generous for a busy machine (a limit, never a measurement).
const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: 600_000 });
if (process.env.ETCD_EXPLORER_TEST_GREP) mocha.grep(process.env.ETCD_EXPLORER_TEST_GREP);
const files = findTests(path.join(repoRoot, 'out', 'test', 'e2e')).sort();
if (files.length === 0) {
  console.error('no E2E tests under out/test/e2e: run `npm run compile-tests` first');
  process.exit(1);
}
files.forEach((f) => mocha.addFile(f));
// The suites install the packaged extension: package the sources as they are now, never reuse an older .vsix.
if (process.env.ETCD_EXPLORER_E2E_SKIP_PACKAGE !== '1') {
  console.log('[rig] npm run package');
  execFileSync('npm', ['run', 'package', '--silent'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}
const started = Date.now();
mocha.run((failures) => {
  console.log(`[rig] E2E: ${failures} failure(s) after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Force exit: a leaked handle in a test must not hang CI (servers are reaped on exit).
  process.exit(failures > 0 ? 1 : 0);
});
