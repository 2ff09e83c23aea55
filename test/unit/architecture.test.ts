import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('architecture', () => {
  it('src/etcd (the core) never imports vscode', () => {
    const files = sources(join(root, 'src', 'etcd'));
    assert.ok(files.length > 3, 'core sources found');
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /(from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\))/, file);
    }
  });

  it('src/shared and webviews import neither vscode nor the core client', () => {
    for (const dir of ['shared', 'webview']) {
      let files: string[] = [];
      try {
        files = sources(join(root, 'src', dir));
      } catch {
        continue;
      }
      for (const file of files) {
        assert.doesNotMatch(readFileSync(file, 'utf8'), /from\s+['"](vscode|etcd3)['"]/, file);
      }
    }
  });
});
