// Two kinds of output: the extension host bundle (node, cjs, `vscode` external) and one browser bundle per
// webview. etcd3 loads its .proto files from `__dirname/../proto` at run time, so they are copied beside dist/.
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Webview entry points: every src/webview/<name>/main.ts becomes dist/webview/<name>.js. */
function webviewEntries() {
  const root = 'src/webview';
  if (!existsSync(root)) return {};
  const entries = {};
  for (const name of readdirSync(root, { withFileTypes: true })) {
    if (name.isDirectory() && existsSync(join(root, name.name, 'main.ts'))) {
      entries[name.name] = join(root, name.name, 'main.ts');
    }
  }
  return entries;
}

function copyProto() {
  const etcd3Root = dirname(require.resolve('etcd3/package.json'));
  rmSync('proto', { recursive: true, force: true });
  cpSync(join(etcd3Root, 'proto'), 'proto', { recursive: true });
}

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info' };

const extension = {
  ...common,
  entryPoints: { extension: 'src/extension.ts' },
  outdir: 'dist',
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  // jsonc-parser's "main" is a UMD build whose inner requires esbuild cannot follow; its ESM build bundles.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
};

const webviews = {
  ...common,
  entryPoints: webviewEntries(),
  outdir: 'dist/webview',
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
};

rmSync('dist', { recursive: true, force: true });
copyProto();
// The Kubernetes descriptor is read from its own file on first use, so activation never parses it.
mkdirSync('dist', { recursive: true });
cpSync('src/etcd/kubernetes/schema/kubernetes.json', 'dist/kubernetes-schema.json');
if (watch) {
  const contexts = await Promise.all([esbuild.context(extension), esbuild.context(webviews)]);
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all([esbuild.build(extension), esbuild.build(webviews)]);
}
