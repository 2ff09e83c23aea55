import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { KeyspaceChild, listChildren } from '../../src/etcd/keyspace';
import { AuthUsers, EtcdCluster, registerCleanup } from '../rig/etcd';
import { namespaceNames, randomLetters, seededRandom, zipfSizes } from '../rig/random';
import { seedKeys } from '../rig/seed';
import { silentLogger } from '../../src/etcd/logger';

registerCleanup();

/** Namespaces without pods. */
const IDLE = 40;

/**
 * A Kubernetes registry's namespaced folders are listed by the namespaces the registry holds
 * (`<registry>/namespaces/<name>`): one range per namespace, each counted whole, the gaps between them explored
 * like any range. Under /app/ so that a role can read the pods but not the namespaces.
 */
describe('listing a Kubernetes registry by its namespaces (real etcd, RBAC on)', function () {
  this.timeout(300_000);
  let cluster: EtcdCluster;
  let users: AuthUsers;
  let root: EtcdConnection;
  const keys: Buffer[] = [];
  /** Keys under each pods/<namespace>/ folder. */
  const podCounts = new Map<string, number>();
  const widgetCounts = new Map<string, number>();
  let namespaces: string[] = [];

  before(async () => {
    cluster = await EtcdCluster.start();
    // A role that reads the pods and nothing else of the registry (created before auth is on).
    for (const step of [
      ['role', 'add', 'pods-reader'],
      ['role', 'grant-permission', '--prefix=true', 'pods-reader', 'read', '/app/registry/pods/'],
      ['user', 'add', 'podsreader', '--new-user-password=pods-pw'],
      ['user', 'grant-role', 'podsreader', 'pods-reader'],
    ]) {
      const r = await cluster.etcdctl(step);
      assert.equal(r.code, 0, r.stderr);
    }
    users = await cluster.enableAuth();
    root = connect(users.root.user, users.root.password);
    const rand = seededRandom(21);
    // Names as grown clusters have them, with `team` beside `team-a` (their folders sort the other way round).
    namespaces = [...new Set([...namespaceNames(rand, 300, 0.3, 0.6, 0.75), 'team', 'team-a'])];
    const sizes = zipfSizes(namespaces.length, 60_000);
    const widgets = zipfSizes(namespaces.length, 15_000, 0);
    namespaces.forEach((ns, rank) => {
      keys.push(Buffer.from(`/app/registry/namespaces/${ns}`));
      podCounts.set(ns, sizes[rank]);
      for (let i = 0; i < sizes[rank]; i++)
        keys.push(Buffer.from(`/app/registry/pods/${ns}/${ns}-${randomLetters(rand, 10)}-${randomLetters(rand, 5)}`));
      if (widgets[rank]) widgetCounts.set(ns, widgets[rank]);
      for (let i = 0; i < widgets[rank]; i++) keys.push(Buffer.from(`/app/registry/example.com/widgets/${ns}/w-${i}`));
      // A dump without namespace keys, its namespaces known by their service accounts.
      keys.push(Buffer.from(`/app/dump/registry/serviceaccounts/${ns}/default`));
      for (let i = 0; i < widgets[rank]; i++) keys.push(Buffer.from(`/app/dump/registry/pods/${ns}/pod-${i}`));
      // A store that keeps each namespace as a folder of keys rather than as one key.
      keys.push(Buffer.from(`/app/store/namespaces/${ns}/spec`), Buffer.from(`/app/store/namespaces/${ns}/status`));
      for (let i = 0; i < widgets[rank]; i++) keys.push(Buffer.from(`/app/store/jobs/${ns}/job-${i}`));
    });
    // Namespaces without pods, and children of pods/ that are not namespaces: before, between and after them.
    for (let i = 0; i < IDLE; i++) keys.push(Buffer.from(`/app/registry/namespaces/idle-${i}`));
    keys.push(Buffer.from('/app/registry/pods/0-stray'), Buffer.from('/app/registry/pods/stray'));
    for (let i = 0; i < 300; i++) keys.push(Buffer.from(`/app/registry/pods/m-orphan/p-${i}`));
    for (let i = 0; i < 50; i++) keys.push(Buffer.from(`/app/registry/pods/zz-orphan/p-${i}`));
    await seedKeys(root, keys);
  });
  after(async () => {
    for (const c of open) await c.close();
    await cluster?.stop();
  });

  const open: EtcdConnection[] = [];
  function connect(user: string, password: string, namespace?: string): EtcdConnection {
    const c = new EtcdConnection(
      { id: user, name: user, endpoints: cluster.endpoints, username: user, namespace },
      { password },
      silentLogger,
    );
    open.push(c);
    return c;
  }

  /** The children of `prefix` among the seeded keys, sorted as `describe` says them. */
  function expected(prefix: string): string[] {
    const out = new Set<string>();
    for (const key of keys.map((k) => k.toString())) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const cut = rest.indexOf('/');
      out.add(cut < 0 ? `key:${key}` : `folder:${prefix}${rest.slice(0, cut + 1)}`);
    }
    return [...out].sort();
  }
  const describe = (c: KeyspaceChild, ns = '') => `${c.kind}:${ns}${c.key.toString()}`;

  /** Every page of `prefix` (pages of `pageSize`, each at the first page's revision). */
  async function listAll(conn: EtcdConnection, prefix: string, pageSize: number) {
    const pages = [];
    let page = await listChildren(conn, Buffer.from(prefix), { separator: '/', pageSize });
    pages.push(page);
    while (page.next) {
      page = await listChildren(conn, Buffer.from(prefix), {
        separator: '/',
        pageSize,
        after: page.next,
        revision: page.revision,
      });
      pages.push(page);
    }
    return pages;
  }

  /** The first page of `prefix` (500 children), exactly its children, each namespace of `counts` counted whole. */
  async function listCounted(prefix: string, counts: ReadonlyMap<string, number>) {
    const page = await listChildren(root, Buffer.from(prefix), { separator: '/', pageSize: 500 });
    assert.deepEqual(page.children.map((c) => describe(c)).sort(), expected(prefix));
    for (const [ns, count] of counts)
      assert.equal(page.children.find((c) => c.key.toString() === `${prefix}${ns}/`)?.keys, count, `keys of ${ns}/`);
    return page;
  }

  it('lists pods/ exactly, counts each namespace whole, and visits each key about twice', async () => {
    const page = await listCounted('/app/registry/pods/', podCounts);
    assert.equal(page.next, undefined);
    // By namespaces: 2.01 visits per key, 721 requests; found by exploring (without them): 3.27, 1,302, and the
    // large namespaces' keys unknown.
    const visits = page.visited / page.totalKeys!;
    assert.ok(visits <= 2.2, `${visits.toFixed(2)} visits per key`);
    // Two ranges per namespace of the registry (idle ones included), the first answers and the strays' ranges.
    assert.ok(
      page.queries <= 2 * (namespaces.length + IDLE) + 64,
      `${page.queries} requests, ${visits.toFixed(2)} visits`,
    );
  });

  it('pages through pods/ exactly, each page at the first one’s revision', async () => {
    const pages = await listAll(root, '/app/registry/pods/', 60);
    const all = pages.flatMap((p) => p.children.map((c) => describe(c)));
    assert.equal(new Set(all).size, all.length, 'no child twice');
    assert.deepEqual(all.sort(), expected('/app/registry/pods/'));
    assert.ok(pages.every((p) => p.revision === pages[0].revision));
  });

  it('lists a custom resource of an API group (<registry>/<group>/<resource>/) by the namespaces too', async () => {
    await listCounted('/app/registry/example.com/widgets/', widgetCounts);
  });

  it('reads namespaces kept as folders (`namespaces/<name>/…`) as well as keys', async () => {
    await listCounted('/app/store/jobs/', widgetCounts);
  });

  it('knows the namespaces of a registry without namespace keys by their service accounts', async () => {
    await listCounted('/app/dump/registry/pods/', widgetCounts);
  });

  it('lists a namespace folder and the registry itself as any folder', async () => {
    for (const prefix of ['/app/registry/', `/app/registry/pods/${namespaces[0]}/`, '/app/registry/namespaces/']) {
      const pages = await listAll(root, prefix, 500);
      assert.deepEqual(pages.flatMap((p) => p.children.map((c) => describe(c))).sort(), expected(prefix), prefix);
    }
  });

  it('lists inside a connection namespace with keys relative to it', async () => {
    const conn = connect(users.root.user, users.root.password, '/app/');
    const page = await listChildren(conn, Buffer.from('registry/pods/'), { separator: '/', pageSize: 500 });
    assert.deepEqual(page.children.map((c) => describe(c, '/app/')).sort(), expected('/app/registry/pods/'));
    assert.equal(
      page.children.find((c) => c.key.toString() === `registry/pods/${namespaces[0]}/`)?.keys,
      podCounts.get(namespaces[0]),
    );
  });

  it('lists pods/ exactly for a role that may not read the namespaces', async () => {
    const conn = connect('podsreader', 'pods-pw');
    await assert.rejects(
      conn.call('get', (c) => c.get('/app/registry/namespaces/team').string()),
      /permission denied/i,
    );
    const pages = await listAll(conn, '/app/registry/pods/', 500);
    assert.deepEqual(pages.flatMap((p) => p.children.map((c) => describe(c))).sort(), expected('/app/registry/pods/'));
  });
});
