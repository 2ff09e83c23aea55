import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';

const root = join(__dirname, '..', '..', '..');

/** Every .ts file under `dir`; a missing folder fails (a renamed layer must not silently pass). */
function sources(dir: string): string[] {
  assert.ok(existsSync(dir) && statSync(dir).isDirectory(), `${relative(root, dir)} exists`);
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

interface Imports {
  /** Repository files imported by relative path (resolved). */
  readonly files: string[];
  /** Packages imported by name (`vscode`, `etcd3`, `node:fs` …). */
  readonly packages: string[];
  /** Imports that are only `import type` / `export type` (erased at run time). */
  readonly typeOnly: Set<string>;
}

const cache = new Map<string, Imports>();

/** Resolves `./x` from `from` the way TypeScript does for this repo: x.ts, x/index.ts, or the file itself. */
function resolveRelative(from: string, spec: string): string {
  const base = join(dirname(from), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  assert.fail(`${relative(root, from)} imports ${spec}, which resolves to no file`);
}

/**
 * Static imports, re-exports, `import x = require()`, require() and import() of one file, read with the
 * TypeScript compiler's own scanner (comments and strings cannot fool it).
 */
function importsOf(file: string): Imports {
  const cached = cache.get(file);
  if (cached) return cached;
  const text = readFileSync(file, 'utf8');
  const info = ts.preProcessFile(text, true, true);
  const files: string[] = [];
  const packages: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (fileName.startsWith('.')) files.push(resolveRelative(file, fileName));
    else packages.push(fileName);
  }
  const typeOnly = new Set<string>();
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  for (const stmt of sf.statements) {
    const spec =
      (ts.isImportDeclaration(stmt) || ts.isExportDeclaration(stmt)) &&
      stmt.moduleSpecifier &&
      ts.isStringLiteral(stmt.moduleSpecifier)
        ? stmt.moduleSpecifier.text
        : undefined;
    if (!spec?.startsWith('.')) continue;
    const erased = ts.isImportDeclaration(stmt)
      ? stmt.importClause?.isTypeOnly
      : ts.isExportDeclaration(stmt) && stmt.isTypeOnly;
    if (erased) typeOnly.add(resolveRelative(file, spec));
  }
  const result = { files, packages, typeOnly };
  cache.set(file, result);
  return result;
}

/**
 * Follows imports from `start` through every repository file it reaches. Returns the import chain to the first
 * forbidden package found (start → … → file that imports it → package), or undefined.
 */
function pathToForbidden(start: string, forbidden: (pkg: string) => boolean): string[] | undefined {
  const parent = new Map<string, string | undefined>([[start, undefined]]);
  const queue = [start];
  const chain = (file: string): string[] => {
    const out: string[] = [];
    for (let f: string | undefined = file; f; f = parent.get(f)) out.unshift(relative(root, f));
    return out;
  };
  while (queue.length) {
    const file = queue.shift()!;
    const { files, packages } = importsOf(file);
    const bad = packages.find(forbidden);
    if (bad) return [...chain(file), bad];
    for (const next of files) {
      if (parent.has(next) || !next.endsWith('.ts')) continue;
      parent.set(next, file);
      queue.push(next);
    }
  }
  return undefined;
}

describe('architecture', () => {
  it('no import path from src/etcd (the core) reaches vscode, however indirect', () => {
    const files = sources(join(root, 'src', 'etcd'));
    assert.ok(files.length > 3, 'core sources found');
    for (const file of files) {
      const path = pathToForbidden(file, (pkg) => pkg === 'vscode');
      assert.equal(path, undefined, `core reaches vscode: ${path?.join(' → ')}`);
    }
  });

  it('no import path from src/shared or src/webview reaches vscode or the etcd client', () => {
    for (const dir of ['shared', 'webview']) {
      for (const file of sources(join(root, 'src', dir))) {
        const path = pathToForbidden(file, (pkg) => pkg === 'vscode' || pkg === 'etcd3');
        assert.equal(path, undefined, `${dir} reaches ${path?.[path.length - 1]}: ${path?.join(' → ')}`);
      }
    }
  });

  it('src/etcd has no import cycles (type-only imports aside, which are erased at run time)', () => {
    const core = join(root, 'src', 'etcd');
    const files = sources(core);
    const inCore = (f: string) => !relative(core, f).startsWith('..');
    const edges = (f: string) => {
      const { files: targets, typeOnly } = importsOf(f);
      return targets.filter((t) => inCore(t) && t.endsWith('.ts') && !typeOnly.has(t));
    };
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const next of edges(f)) {
        if (state.get(next) === 'open') {
          const cycle = [...stack.slice(stack.indexOf(next)), next].map((x) => relative(core, x));
          assert.fail(`import cycle in src/etcd: ${cycle.join(' → ')}`);
        }
        if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
  });
});
