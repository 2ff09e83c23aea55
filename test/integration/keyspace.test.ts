import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { displayKey, prefixEnd } from '../../src/etcd/keyCodec';
import { KeyspaceChild, listChildren } from '../../src/etcd/keyspace';
import { FolderCache } from '../../src/etcd/keyspace/folderCache';
import { RangeAnswer, RangeReader } from '../../src/etcd/keyspace/rangeReader';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { listingCost } from '../rig/listingCost';
import { seedKeys } from '../rig/seed';
import {
  hostSeries,
  letterNamespaces,
  namespaceNames,
  randomLetters,
  randomWord,
  seededRandom,
  zipfSizes,
} from '../rig/random';

registerCleanup();

/** The children of `prefix` in `all` (keys in key order): the first `first` of them, sorted as describeChild's. */
function expectedChildren(all: Buffer[], prefix: Buffer, sep: Buffer, first = Infinity): string[] {
  const out = new Set<string>();
  for (const key of all) {
    if (!key.subarray(0, prefix.length).equals(prefix)) continue;
    const rest = key.subarray(prefix.length);
    const cut = rest.indexOf(sep);
    out.add(
      cut < 0
        ? `key:${key.toString('hex')}`
        : `folder:${key.subarray(0, prefix.length + cut + sep.length).toString('hex')}`,
    );
  }
  return [...out].slice(0, first).sort();
}

const describeChild = (c: KeyspaceChild) => `${c.kind}:${c.key.toString('hex')}`;

describe('keyspace listing (real etcd)', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  const keys: Buffer[] = [
    Buffer.from('/a'),
    Buffer.from('/a/b'),
    Buffer.from('/a//c'),
    Buffer.from('/a/trailing/'),
    Buffer.from('no-leading'),
    Buffer.from('no-leading/child'),
    Buffer.from('/ünï/キー'),
    Buffer.from([0x2f, 0xff, 0x00, 0x2f, 0x01]),
    Buffer.from('z'),
    Buffer.from('/' + 'k'.repeat(4095)),
    Buffer.from('q'),
  ];

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'k', name: 'k', endpoints: cluster.endpoints }, {}, silentLogger);
    for (const key of keys) await conn.write('put', (c) => c.put(key).value('v').exec());
    for (let i = 0; i < 25; i++)
      await conn.write('put', (c) =>
        c
          .put(`/many/${String(i).padStart(2, '0')}`)
          .value('v')
          .exec(),
      );
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  async function allKeys(): Promise<Buffer[]> {
    const res = await conn.call('range', (c) =>
      c.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]), keys_only: true }),
    );
    return res.kvs.map((kv) => kv.key);
  }

  /** Puts `keys` with empty values, 128 a Txn. */
  const seed = (keys: Buffer[]) => seedKeys(conn, keys);

  /**
   * Seeds `keys` (empty values, 128 a Txn), lists `root`'s first page and checks it against a full read (one first
   * request, no leading split: its requests never depend on the server's timing; see the nasty test for both).
   */
  async function listExactly(keys: Buffer[], root: string) {
    await seed(keys);
    const page = await listChildren(conn, Buffer.from(root), {
      separator: '/',
      pageSize: 500,
      leadingSplit: false,
    });
    assert.deepEqual(
      page.children.map(describeChild).sort(),
      expectedChildren(await allKeys(), Buffer.from(root), Buffer.from('/'), 500),
    );
    return page;
  }

  for (const prefix of ['', '/', '/a/', 'no-leading/', '/many/']) {
    it(`lists the exact children of "${prefix}"`, async () => {
      const page = await listChildren(conn, Buffer.from(prefix), { separator: '/', pageSize: 1000 });
      assert.deepEqual(
        page.children.map(describeChild).sort(),
        expectedChildren(await allKeys(), Buffer.from(prefix), Buffer.from('/')),
      );
      assert.equal(page.next, undefined);
    });
  }

  it('tells the keys of each folder child it saw whole; the cache then lists such a folder with one request', async () => {
    const all = await allKeys();
    const root = await listChildren(conn, Buffer.alloc(0), { separator: '/', pageSize: 1000 });
    const folders = root.children.filter((c) => c.kind === 'folder');
    assert.ok(folders.length >= 2);
    for (const child of folders)
      assert.equal(
        child.keys,
        all.filter((k) => k.subarray(0, child.key.length).equals(child.key)).length,
        displayKey(child.key),
      );
    const warm = new FolderCache(conn, { separator: '/', pageSize: 1000 });
    const cold = new FolderCache(conn, { separator: '/', pageSize: 1000 });
    try {
      await warm.list(Buffer.from('/'));
      const before = warm.queries;
      const many = await warm.list(Buffer.from('/many/'));
      assert.equal(many.children.length, 25);
      assert.equal(warm.queries - before, 1, 'its parent saw its keys: one request, no leading split');
      await cold.list(Buffer.from('/many/'));
      assert.ok(cold.queries > 10, `without its parent: the leading split first (${cold.queries} requests)`);
    } finally {
      warm.dispose();
      cold.dispose();
    }
  });

  it('pages a folder larger than a page at one pinned revision', async () => {
    const seen: string[] = [];
    let page = await listChildren(conn, Buffer.from('/many/'), { separator: '/', pageSize: 10 });
    const revision = page.revision;
    seen.push(...page.children.map(describeChild));
    // A write between pages must not show up: the listing is pinned.
    await conn.write('put', (c) => c.put('/many/00-new').value('v').exec());
    while (page.next) {
      page = await listChildren(conn, Buffer.from('/many/'), {
        separator: '/',
        pageSize: 10,
        after: page.next,
        revision,
      });
      seen.push(...page.children.map(describeChild));
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.ok(!seen.includes(`key:${Buffer.from('/many/00-new').toString('hex')}`));
    await conn.write('delete', (c) => c.delete().key('/many/00-new').exec());
  });

  it('lists exactly on big and nasty keyspaces, paging through every page (split path exercised)', async () => {
    // Shapes that force the sub-range splitting: big folders with names of different lengths, shared long
    // prefixes, binary bytes at the diverging position, leaves mixed with folders, keys equal to folders.
    const root = '/nasty/';
    const keys: Buffer[] = [];
    const add = (k: string | Buffer) =>
      keys.push(typeof k === 'string' ? Buffer.from(root + k) : Buffer.concat([Buffer.from(root), k]));
    for (let i = 0; i < 120; i++) for (let j = 0; j < 40; j++) add(`s${i}/k${j}`);
    for (let j = 0; j < 300; j++) add(`sharedprefix-sharedprefix-${j}/x`);
    for (let b = 0; b < 256; b += 7)
      for (let j = 0; j < 30; j++) add(Buffer.from([0x62, b, 0x2f, 0x30 + (j % 10), 0x30 + Math.floor(j / 10)]));
    for (let j = 0; j < 50; j++) add(`leaf-${j}`);
    add('s7');
    add('//double/slash');
    add('trailing/');
    add(`${'L'.repeat(3000)}/x`);
    add('ü/键/🔑');
    await seedKeys(conn, keys, { value: Buffer.from('v') });
    const all = await allKeys();
    const prefixes = [root, `${root}s7/`, root + 'sharedprefix-sharedprefix-1/'].map((p) => Buffer.from(p));
    prefixes.push(Buffer.concat([Buffer.from(root + 'b'), Buffer.from([0, 0x2f])]));
    const first = await listChildren(conn, Buffer.from(root), {
      separator: '/',
      pageSize: 500,
      leadingSplit: false,
    });
    assert.ok(first.queries > 10, `the split path ran (${first.queries} queries)`);
    // With and without the folder's leading-byte split first (the default): binary bytes, non-ASCII names and a
    // later page's start fall inside and between its ranges.
    const joined = await listChildren(conn, Buffer.from(root), { separator: '/', pageSize: 500, leadingSplit: true });
    assert.ok(joined.queries >= first.queries + 40, `the split was sent (${joined.queries} queries)`);
    for (const [p, leadingSplit] of prefixes.flatMap((p) => [false, true].map((s) => [p, s] as const))) {
      const prefix = `${displayKey(p)}${leadingSplit ? ', leading split first' : ''}`;
      for (const pageSize of [1, 7, 64, 500]) {
        const seen: string[] = [];
        const opts = { separator: '/', pageSize, leadingSplit };
        let page = await listChildren(conn, p, opts);
        seen.push(...page.children.map(describeChild));
        let pages = 1;
        while (page.next) {
          assert.ok(page.children.length <= pageSize, 'a page never exceeds its size');
          page = await listChildren(conn, p, { ...opts, after: page.next, revision: page.revision });
          seen.push(...page.children.map(describeChild));
          pages++;
          assert.ok(pages < 2000, 'paging terminates');
        }
        assert.equal(new Set(seen).size, seen.length, `no duplicates (${prefix}, page ${pageSize})`);
        assert.deepEqual(
          [...seen].sort(),
          expectedChildren(all, p, Buffer.from('/')),
          `exact (${prefix}, page ${pageSize})`,
        );
        assert.deepEqual(
          seen,
          [...seen].sort((a, b) =>
            Buffer.compare(Buffer.from(a.split(':')[1], 'hex'), Buffer.from(b.split(':')[1], 'hex')),
          ),
          'in key order',
        );
      }
    }
  });

  it('finds word-named children after a first page that showed only names of one leading byte', async () => {
    // The first request sees only three "a…" folders (1,200 keys); 57 more are named by random words b… to z…
    // (100 keys each). A split that kept every name after "a…" in one range found one child per wave there
    // (until its budget ran out); splitting the first position on every byte seen finds them in a few waves.
    const root = '/words/';
    const rand = seededRandom(77);
    const names = new Set(['aa', 'ab-x', 'acq']);
    while (names.size < 60) {
      const w = randomWord(rand);
      if (w[0] !== 'a') names.add(w);
    }
    const keys: Buffer[] = [];
    for (const name of names)
      for (let i = 0; i < (name.startsWith('a') ? 400 : 100); i++)
        keys.push(Buffer.from(`${root}${name}/${String(i).padStart(4, '0')}`));
    const page = await listExactly(keys, root);
    // Without it, the exploration ran out of its budget (4 visits per key) and read the rest keys-only: 5.6.
    assert.ok(page.visited <= 4.5 * keys.length, `${(page.visited / keys.length).toFixed(2)} visits per key`);
  });

  it('spreads a read-on that large children ate over parts instead of reading on past each of them', async () => {
    // 300 services of 1–4 keys and 5 of 12,000 among them, all named svc-<word>.prod.internal/: the first page's
    // read-on stops inside the first large one, and reading on again after each visited all the keys after it.
    const root = '/logs/';
    const rand = seededRandom(31);
    const names = new Set<string>();
    while (names.size < 305) names.add(randomWord(rand));
    const keys: Buffer[] = [];
    [...names].forEach((name, i) => {
      for (let k = 0, n = i % 61 === 7 ? 12_000 : 1 + Math.floor(rand() * 4); k < n; k++)
        keys.push(Buffer.from(`${root}svc-${name}.prod.internal/${String(k).padStart(6, '0')}`));
    });
    const page = await listExactly(keys, root);
    assert.equal(page.children.length, 305);
    // Spread over parts: 2.60 visits per key; reading on after each large one: 3.22.
    assert.ok(page.visited <= 2.9 * keys.length, `${(page.visited / keys.length).toFixed(2)} visits per key`);
  });

  it('lists `preview-<hex>` namespaces of Zipf-like sizes exactly, splitting their ids two hex digits at a time', async () => {
    // A range holding most of the folder whose first name is `preview-<hex id>` is split on the id's first two hex
    // digits at once (256 ranges, other bytes sharing ranges between them): every child must still be found.
    const root = '/envs/';
    const rand = seededRandom(12);
    const names = new Set(['alpha', 'beta', 'preview-zz-top', 'previewer']);
    while (names.size < 125) names.add(`preview-${randomLetters(rand, 6, '0123456789abcdef')}`);
    const keys: Buffer[] = [];
    [...names].forEach((name, rank) => {
      for (let i = 0; i < Math.max(2, Math.floor(8000 / (rank + 1) ** 0.9)); i++)
        keys.push(Buffer.from(`${root}${name}/${String(i).padStart(5, '0')}`));
    });
    await seed(keys);
    const expected = expectedChildren(await allKeys(), Buffer.from(root), Buffer.from('/'));
    for (const leadingSplit of [true, false]) {
      const page = await listChildren(conn, Buffer.from(root), { separator: '/', pageSize: 500, leadingSplit });
      assert.deepEqual(page.children.map(describeChild).sort(), expected, `leadingSplit ${leadingSplit}`);
    }
  });

  it('lists namespaces named by people, of Zipf-like sizes, within its budget of requests and visits', async () => {
    // As a grown cluster names them: random words, word-word pairs, `preview-<hex>` and `pr-<number>` (the last two
    // share a leading "pr"), sizes by rank ~ 6000/rank; ~40k keys under 240 namespaces.
    const root = '/grown/';
    const rand = seededRandom(5);
    const keys: Buffer[] = [];
    namespaceNames(rand, 240, 0.35, 0.55, 0.7).forEach((name, rank) => {
      for (let i = 0; i < Math.max(2, Math.floor(6000 / (rank + 1))); i++)
        keys.push(Buffer.from(`${root}${name}/pod-${randomLetters(rand, 5)}`));
    });
    const page = await listExactly(keys, root);
    // Its cost (listingCost): one keys-only read of the folder is ~16 per key. Exploring within a budget of 4 visits
    // per key and then reading the rest: 8.5 per key (4.79 visits, 543 requests, 7,162 keys returned); within a
    // budget of 8 in this unit: 9.1 (7.22 visits, 634 requests, 2,530 keys returned). Well below one read: ≤ 12.
    const total = page.totalKeys!;
    const cost = listingCost(page);
    assert.ok(cost <= 12 * total, `${(cost / total).toFixed(2)} per key`);
    assert.ok(page.queries <= 2000, `${page.queries} requests`);
  });

  it('explores the ranges it put aside several a round trip once everything before them is known', async () => {
    // 800 namespaces of Zipf-like sizes (~60k keys) and a page of 500: ranges after children the page seemed not to
    // need are put aside, and once everything to their left is known, those the page still has room for go out
    // together. One a round trip, this listing took 145–151 round trips (same requests and visits); together, 82.
    const root = '/parked/';
    const names = namespaceNames(seededRandom(1), 800, 0.3, 0.6, 0.75);
    const sizes = zipfSizes(names.length, 60_000, 1);
    const keys: Buffer[] = [];
    names.forEach((name, rank) => {
      for (let i = 0; i < sizes[rank]; i++) keys.push(Buffer.from(`${root}${name}/e-${String(i).padStart(6, '0')}`));
    });
    const page = await listExactly(keys, root);
    assert.ok(page.trips <= 110, `${page.trips} round trips`);
  });

  it('keeps splitting a large range after its estimate of the children in it fell to none', async () => {
    // 500 namespaces of Zipf-like sizes (~300k keys) named by random letters, a quarter `preview-<hex>`, a tenth
    // `pr-<n>`: the ranges after `pr-…` expected no more children (a share of a split that expected one), so the 56k
    // keys of the `preview-…` names were asked whole again for each of them, one child a round trip — 4.86 visits
    // per key; split as the range's keys say, 3.09 (half the keys: 2.89 either way).
    const root = '/zipf/';
    const names = letterNamespaces(seededRandom(3), 500);
    const sizes = zipfSizes(names.length, 300_000);
    const suffix = seededRandom(9);
    const keys: Buffer[] = [];
    names.forEach((name, rank) => {
      for (let i = 0; i < sizes[rank]; i++) keys.push(Buffer.from(`${root}${name}/${randomLetters(suffix, 8)}`));
    });
    await listExactly(keys, root);
    // As the tree lists it (the leading split on).
    const page = await listChildren(conn, Buffer.from(root), { separator: '/', pageSize: 500 });
    const visits = page.visited / page.totalKeys!;
    assert.ok(visits <= 4, `${visits.toFixed(2)} visits per key, ${page.queries} requests`);
  });

  it('shares its requests out among the children it expects: hosts with numbers to enumerate', async () => {
    // 300 hosts `web042.fra1.example.net` (hostSeries: ~887k keys). Each split took what its own range seemed to need
    // — a range for every number and data centre, mostly empty: 4,207 requests (3.94 keys visited per key); shared out
    // from a budget of 2,400: 2,279–2,644 in three runs (3.94–4.00; which half of the leading split answers first
    // shapes the rest).
    const root = '/ts/';
    const keys = [...hostSeries(root, seededRandom(103))].map((k) => Buffer.from(k));
    await seedKeys(conn, keys, { parallel: 4 });
    // As the tree lists it (the leading split on).
    const page = await listChildren(conn, Buffer.from(root), { separator: '/', pageSize: 500 });
    assert.equal(page.children.length, 300);
    assert.deepEqual(
      page.children.map(describeChild).sort(),
      expectedChildren(keys, Buffer.from(root), Buffer.from('/')),
    );
    const visits = page.visited / page.totalKeys!;
    assert.ok(page.queries <= 3200, `${page.queries} requests`);
    assert.ok(visits <= 4.5, `${visits.toFixed(2)} keys visited per key`);
  });

  it('lists inside a namespace with keys relative to it', async () => {
    const ns = new EtcdConnection(
      { id: 'n', name: 'n', endpoints: cluster.endpoints, namespace: '/a/' },
      {},
      silentLogger,
    );
    try {
      const page = await listChildren(ns, Buffer.alloc(0), { separator: '/', pageSize: 100 });
      assert.deepEqual(
        page.children.map((c) => `${c.kind}:${c.key.toString()}`).sort(),
        ['folder:/', 'folder:trailing/', 'key:b'].sort(),
      );
      assert.deepEqual(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
    } finally {
      await ns.close();
    }
  });
});

describe('range batches (real etcd started with --max-txn-ops=4)', function () {
  this.timeout(60_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;

  before(async () => {
    cluster = await EtcdCluster.start({ extraArgs: ['--max-txn-ops=4'] });
    conn = new EtcdConnection({ id: 'b', name: 'b', endpoints: cluster.endpoints }, {}, silentLogger);
    for (let i = 0; i < 30; i++)
      await conn.write('put', (c) =>
        c
          .put(`/b/${String(i).padStart(2, '0')}`)
          .value('v')
          .exec(),
      );
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  it('answers a batch like the same ranges asked one by one, at the pinned revision, whatever --max-txn-ops', async () => {
    const specs = Array.from({ length: 10 }, (_, i) => ({
      from: Buffer.from(`/b/${i}`),
      to: i % 3 ? Buffer.from(`/b/${i + 1}`) : null,
      request: { limit: i % 4 },
    }));
    const reader = new RangeReader(conn);
    const single = await Promise.all(specs.map((s) => reader.range(s.from, s.to, s.request)));
    await conn.write('put', (c) => c.put('/b/05').value('changed').exec());
    await conn.write('put', (c) => c.put('/b/55').value('new').exec());
    const batched = await reader.batch(specs);
    const text = (answers: RangeAnswer[]) =>
      answers.map((a) => `${a.count}:${a.more}:${a.kvs.map((kv) => `${kv.key}@${kv.mod_revision}`).join(',')}`);
    assert.deepEqual(text(batched), text(single));
    assert.ok(reader.trips >= 10 + 3, 'batches of at most 4 ranges after the server refused 10 in one Txn');
    assert.equal(reader.queries, 20);
  });

  it('lists a folder through batches of 4', async () => {
    // 40 folders of 40 keys: more than the first request reads, so the rest is explored in batches.
    const keys = Array.from({ length: 1600 }, (_, i) => Buffer.from(`/f/d${Math.floor(i / 40)}/k${i % 40}`));
    await seedKeys(conn, keys, { perTxn: 4, parallel: 8 });
    const page = await listChildren(conn, Buffer.from('/f/'), { separator: '/', pageSize: 100 });
    const want = Array.from({ length: 40 }, (_, i) => `/f/d${i}/`).sort();
    assert.deepEqual(
      page.children.map((c) => c.key.toString()),
      want,
    );
    assert.ok(page.queries > 1, 'explored past the first request');
  });
});
