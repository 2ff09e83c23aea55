import * as assert from 'node:assert/strict';
import {
  isNamespaceName,
  namespacePartition,
  namespaceSources,
  underRegistry,
} from '../../src/etcd/keyspace/namespaceHint';
import { endOf, lessThan } from '../../src/etcd/keyspace/partition';
import { randomLetters, seededRandom } from '../rig/random';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (bufs: Buffer[]) => bufs.map((x) => x.toString('latin1'));

describe('namespace hint (Kubernetes registry folders)', () => {
  it('looks for namespaces beside the folder and beside its parent, never above the connection namespace', () => {
    const root = Buffer.alloc(0);
    assert.deepEqual(text(namespaceSources(b('/registry/pods/'), '/', root)), [
      '/registry/namespaces/',
      '/namespaces/',
    ]);
    assert.deepEqual(text(namespaceSources(b('/registry/example.com/widgets/'), '/', root)), [
      '/registry/example.com/namespaces/',
      '/registry/namespaces/',
    ]);
    assert.deepEqual(text(namespaceSources(b('/registry/pods/'), '/', b('/registry/pods/'))), []);
    assert.deepEqual(text(namespaceSources(b('/registry/pods/'), '/', b('/registry/'))), ['/registry/namespaces/']);
    // Not the namespaces folder itself, nor folders under it; other separators have no namespaces.
    assert.deepEqual(text(namespaceSources(b('/registry/namespaces/'), '/', root)), ['/namespaces/']);
    assert.deepEqual(text(namespaceSources(b('/ts/'), '/', root)), ['/namespaces/']);
    assert.deepEqual(text(namespaceSources(b('registry/pods/'), '/', root)), ['registry/namespaces/']);
    assert.deepEqual(namespaceSources(b('/registry/pods/'), ':', root), []);
    assert.deepEqual(namespaceSources(b('/registry/pods'), '/', root), []);
  });

  it('cuts [from, end) into namespace folders and the gaps between them, exactly once, in key order', () => {
    const rand = seededRandom(7);
    for (let run = 0; run < 300; run++) {
      const prefix = b('/r/p/');
      const names = new Set<string>();
      for (let i = 0, n = Math.floor(rand() * 20); i < n; i++)
        names.add(randomLetters(rand, 1 + Math.floor(rand() * 3), 'ab-.'));
      const from = Buffer.concat([prefix, b(randomLetters(rand, Math.floor(rand() * 3), 'ab-./'))]);
      const end = rand() < 0.5 ? endOf(prefix) : Buffer.concat([prefix, b(randomLetters(rand, 2, 'ab-.'))]);
      if (!lessThan(from, end)) continue;
      const spans = namespacePartition(prefix, [...names].map(b), from, end);
      // Contiguous from `from` to `end`, each span non-empty.
      assert.deepEqual(spans[0].lo, from);
      assert.deepEqual(spans[spans.length - 1].hi, end);
      for (let i = 0; i < spans.length; i++) {
        assert.ok(lessThan(spans[i].lo, spans[i].hi), `span ${i} empty`);
        if (i) assert.deepEqual(spans[i].lo, spans[i - 1].hi);
      }
      // A namespace span is exactly one namespace's folder; every namespace folder inside [from, end) has one.
      const folders = spans.filter((s) => s.namespace).map((s) => s.lo.toString('latin1'));
      for (const s of spans.filter((x) => x.namespace)) assert.deepEqual(s.hi, endOf(s.lo));
      const inside = [...names]
        .map((n) => `/r/p/${n}/`)
        .filter(
          (f) => Buffer.compare(b(f), from) >= 0 && (end === null || Buffer.compare(endOf(b(f)) as Buffer, end) <= 0),
        )
        .sort((x, y) => Buffer.compare(b(x), b(y)));
      assert.deepEqual(folders, inside);
    }
  });

  it('knows namespace names (RFC 1123 labels) from other folder names', () => {
    for (const n of ['default', 'kube-system', 'team-042-prod', 'a', '0', 'x'.repeat(63)])
      assert.ok(isNamespaceName(b(n)), n);
    for (const n of ['', 'web01.fra1.example.net', 'Team', '-a', 'a-', 'a_b', 'x'.repeat(64), '2026-03-14/x', 'ü'])
      assert.ok(!isNamespaceName(b(n)), n);
  });

  it("knows kube-apiserver's default registry prefixes", () => {
    for (const p of ['/registry/pods/', 'registry/pods/', '/kubernetes.io/pods/', '/dumps/registry/events/'])
      assert.ok(underRegistry(b(p)), p);
    for (const p of ['/bench/a3/', '/myregistry/pods/', '/kubernetes/io/', '/registry-old/pods/'])
      assert.ok(!underRegistry(b(p)), p);
  });

  it('sorts namespace folders as keys, not as names ("team-a/" before "team/")', () => {
    const spans = namespacePartition(b('/p/'), [b('team'), b('team-a')], b('/p/'), endOf(b('/p/')));
    assert.deepEqual(
      spans.filter((s) => s.namespace).map((s) => s.lo.toString()),
      ['/p/team-a/', '/p/team/'],
    );
  });
});
