import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');

describe('settings documentation', () => {
  it("the README's settings table lists every contributed setting with its package.json default", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const properties = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const rows = new Map([...readme.matchAll(/^\| `(etcd\.[\w.]+)` \| `([^`]*)` \|/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual([...rows.keys()].sort(), Object.keys(properties).sort(), 'the same settings in both');
    for (const [name, { default: value }] of Object.entries(properties)) {
      assert.equal(
        rows.get(name),
        typeof value === 'string' ? value : JSON.stringify(value),
        `${name}: README default`,
      );
    }
  });
});
