/**
 * Mocha runner loaded inside the extension host (extensionTestsPath). Runs every
 * out/test/extension/**\/*.test.js and rejects when any test fails, which makes the host exit non-zero.
 *
 * When the rig sets ETCD_EXPLORER_HOST_LOG, everything printed through `console` while the suite runs
 * (mocha's reporter, the tests, the extension under test) is also appended to that file, which the rig
 * copies to the terminal. Otherwise that output only reaches the workbench's browser console.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import Mocha = require('mocha');
import { knownState } from './knownState';

function findTests(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return findTests(full);
    return entry.isFile() && entry.name.endsWith('.test.js') ? [full] : [];
  });
}

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug';

/** Tees console output into `file`; returns the function that undoes it. */
function teeConsole(file: string): () => void {
  const methods: ConsoleMethod[] = ['log', 'info', 'warn', 'error', 'debug'];
  // The extension host installs its console forwarders as accessors with a no-op setter, so plain
  // assignment is silently ignored; redefine the properties instead (they are configurable).
  const descriptors = methods.map((m) => Object.getOwnPropertyDescriptor(console, m));
  methods.forEach((method) => {
    const original = console[method];
    const tee = (...args: unknown[]) => {
      const prefix = method === 'warn' || method === 'error' ? `[${method}] ` : '';
      try {
        // Synchronous, so nothing is lost when the host exits right after the run.
        fs.appendFileSync(file, prefix + util.format(...args) + '\n');
      } catch {
        // The log is a convenience; never fail a test because of it.
      }
      original.apply(console, args);
    };
    Object.defineProperty(console, method, { value: tee, configurable: true, writable: true, enumerable: true });
  });
  return () =>
    methods.forEach((method, i) => {
      const descriptor = descriptors[i];
      if (descriptor) Object.defineProperty(console, method, descriptor);
    });
}

export function run(): Promise<void> {
  const logFile = process.env.ETCD_EXPLORER_HOST_LOG;
  const untee = logFile ? teeConsole(logFile) : () => undefined;
  // The spec reporter captured console.log when mocha loaded; point it at the tee.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(...args);

  const mocha = new Mocha({
    ui: 'bdd',
    reporter: 'spec',
    color: false,
    // One limit for every test and hook, generous for a busy machine (a limit, never a measurement).
    timeout: Number(process.env.ETCD_EXPLORER_TEST_TIMEOUT ?? 180_000),
    // ETCD_EXPLORER_TEST_GREP runs only the matching tests (handy while working on one feature).
    ...(process.env.ETCD_EXPLORER_TEST_GREP ? { grep: process.env.ETCD_EXPLORER_TEST_GREP } : {}),
  });
  const grep = process.env.ETCD_EXPLORER_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of findTests(__dirname).sort()) mocha.addFile(file);
  // Each file's first test starts from a known state, whatever the previous file left open.
  let lastFile: string | undefined;
  mocha.rootHooks({
    beforeEach: async function (this: Mocha.Context) {
      const file = this.currentTest?.file;
      if (file === lastFile) return;
      lastFile = file;
      await knownState();
    },
  });

  return new Promise<void>((resolve, reject) => {
    try {
      mocha.run((failures) =>
        failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed`)) : resolve(),
      );
    } catch (err) {
      reject(err);
    }
  }).finally(untee);
}
