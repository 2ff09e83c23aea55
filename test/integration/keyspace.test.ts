import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { prefixEnd } from '../../src/etcd/keyCodec';
import { KeyspaceChild, listChildren } from '../../src/etcd/keyspace';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

/** The expected children of `prefix`, computed from one full keys-only range. */
function expectedChildren(all: Buffer[], prefix: Buffer, sep: Buffer): string[] {
  const out = new Set<string>();
  for (const key of all) {
    if (!key.subarray(0, prefix.length).equals(prefix)) continue;
    const rest = key.subarray(prefix.length);
    const cut = rest.indexOf(sep);
    out.add(cut < 0 ? `key:${key.toString('hex')}` : `folder:${key.subarray(0, prefix.length + cut + sep.length).toString('hex')}`);
  }
  return [...out].sort();
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
    Buffer.from('/' + 'k'.repeat(4000)),
  ];

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'k', name: 'k', endpoints: cluster.endpoints }, {}, silentLogger);
    for (const key of keys) await conn.write('put', (c) => c.put(key).value('v').exec());
    for (let i = 0; i < 25; i++) await conn.write('put', (c) => c.put(`/many/${String(i).padStart(2, '0')}`).value('v').exec());
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  async function allKeys(): Promise<Buffer[]> {
    const res = await conn.call('range', (c) => c.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]), keys_only: true }));
    return res.kvs.map((kv) => kv.key);
  }

  for (const prefix of ['', '/', '/a/', 'no-leading/', '/many/']) {
    it(`lists the exact children of "${prefix}"`, async () => {
      const page = await listChildren(conn, Buffer.from(prefix), { separator: '/', pageSize: 1000 });
      assert.deepEqual(page.children.map(describeChild).sort(), expectedChildren(await allKeys(), Buffer.from(prefix), Buffer.from('/')));
      assert.equal(page.next, undefined);
    });
  }

  it('pages a folder larger than a page at one pinned revision', async () => {
    const seen: string[] = [];
    let page = await listChildren(conn, Buffer.from('/many/'), { separator: '/', pageSize: 10 });
    const revision = page.revision;
    seen.push(...page.children.map(describeChild));
    // A write between pages must not show up: the listing is pinned.
    await conn.write('put', (c) => c.put('/many/00-new').value('v').exec());
    while (page.next) {
      page = await listChildren(conn, Buffer.from('/many/'), { separator: '/', pageSize: 10, after: page.next, revision });
      seen.push(...page.children.map(describeChild));
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.ok(!seen.includes(`key:${Buffer.from('/many/00-new').toString('hex')}`));
    await conn.write('delete', (c) => c.delete().key('/many/00-new').exec());
  });

  it('lists inside a namespace with keys relative to it', async () => {
    const ns = new EtcdConnection({ id: 'n', name: 'n', endpoints: cluster.endpoints, namespace: '/a/' }, {}, silentLogger);
    try {
      const page = await listChildren(ns, Buffer.alloc(0), { separator: '/', pageSize: 100 });
      assert.deepEqual(page.children.map((c) => `${c.kind}:${c.key.toString()}`).sort(), ['folder:/', 'folder:trailing/', 'key:b'].sort());
      assert.deepEqual(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
    } finally {
      await ns.close();
    }
  });
});
