import * as assert from 'node:assert/strict';
import { previewBulkDelete } from '../../src/etcd/bulk';
import { EtcdConnection } from '../../src/etcd/connection';
import { isCancellation } from '../../src/etcd/errors';
import { displayKey } from '../../src/etcd/keyCodec';
import { countKeys, searchKeys } from '../../src/etcd/keyInfo';
import { countSpans, prefixSpan } from '../../src/etcd/keyspace/counts';
import { endOf } from '../../src/etcd/keyspace/partition';
import { silentLogger } from '../../src/etcd/logger';
import { previewPrefixDelete } from '../../src/etcd/values';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { seededRandom } from '../rig/random';
import { seedKeys } from '../rig/seed';

registerCleanup();

const b = (s: string) => Buffer.from(s);

/**
 * Count Keys, Go to Key's search, the delete-prefix preview and bulk delete's preview read through the scan
 * engine's counts: each must equal what a full read of the same keys at the same revision holds, even while other
 * writers change the keys.
 */
describe('counts and previews through the scan engine (real etcd)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  let ns: EtcdConnection;
  /** Every key written, absolute (the namespaced connection's keys under /tenant/). */
  const keys: Buffer[] = [];

  /** Keys of [lo, hi) at `revision` (or now), absolute, in key order: one plain range, no engine. */
  const fullRead = async (lo: Buffer, hi: Buffer | null, revision?: string): Promise<Buffer[]> => {
    const res = await conn.call('full read', (c) =>
      c.kv.range({
        key: lo.length ? lo : Buffer.from([0]),
        range_end: hi ?? Buffer.from([0]),
        keys_only: true,
        ...(revision ? { revision } : {}),
      }),
    );
    return res.kvs.map((kv) => kv.key);
  };
  const under = (prefix: string, revision?: string) => fullRead(b(prefix), endOf(b(prefix)), revision);

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = new EtcdConnection({ id: 'c', name: 'c', endpoints: cluster.endpoints }, {}, silentLogger);
    ns = new EtcdConnection(
      { id: 'n', name: 'n', endpoints: cluster.endpoints, namespace: '/tenant/' },
      {},
      silentLogger,
    );
    // Folders of random sizes with binary names, a key equal to a folder's name, and keys beside the namespace.
    const rand = seededRandom(14);
    for (let f = 0; f < 30; f++) {
      const folder = Buffer.concat([b('/tenant/app/'), Buffer.from([0x30 + (f % 10), 0xff - f]), b(`-${f}/`)]);
      const size = 1 + Math.floor(rand() * 120);
      for (let i = 0; i < size; i++) keys.push(Buffer.concat([folder, b(`k${i}`)]));
      if (f % 7 === 0) keys.push(folder.subarray(0, folder.length - 1));
    }
    keys.push(b('/tenant/root-key'), b('/tenantless'), b('/other/x'), Buffer.from([0xff, 0xff, 0x01]));
    await seedKeys(conn, keys, { value: b('v') });
  });

  after(async () => {
    await ns?.close();
    await conn?.close();
    await cluster?.stop();
  });

  it('Count Keys equals a full read, for a folder, a binary prefix, the namespace root and the whole keyspace', async () => {
    const binary = Buffer.concat([b('app/'), Buffer.from([0x33])]);
    assert.equal(await countKeys(ns, b('app/')), (await under('/tenant/app/')).length);
    assert.equal(
      await countKeys(ns, binary),
      keys.filter((k) => k.subarray(0, 13).equals(Buffer.concat([b('/tenant/'), binary]))).length,
    );
    assert.equal(await countKeys(ns, Buffer.alloc(0)), (await under('/tenant/')).length);
    assert.equal(await countKeys(conn, Buffer.alloc(0)), keys.length);
    assert.equal(await countKeys(conn, Buffer.from([0xff, 0xff])), 1, 'a prefix of 0xff bytes has no end key');
  });

  it('Count Keys stops on cancel with a cancellation, not an error', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(countKeys(conn, b('/tenant/'), controller.signal), (err: unknown) => isCancellation(err));
  });

  it('counts of many spans and their sample are those of one revision, while a writer adds keys', async () => {
    // The 30 folders under /tenant/app/ (disjoint spans), in key order.
    const folders = [...new Set(keys.map(folderOf))]
      .map((hex) => Buffer.from(hex, 'hex'))
      .filter((f) => f.length > 12 && f.subarray(0, 12).equals(b('/tenant/app/')))
      .sort(Buffer.compare);
    assert.equal(folders.length, 30);
    let writes = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        const folder = folders[writes % folders.length];
        await conn.write('concurrent put', (c) =>
          c
            .put(Buffer.concat([folder, b(`late-${writes++}`)]))
            .value('v')
            .exec(),
        );
      }
    })();
    try {
      // Several rounds so some counts are read while the writer commits in between.
      for (let round = 0; round < 5; round++) {
        const spans = folders.map((f) => ({ lo: f, hi: endOf(f) }));
        const counted = await countSpans(conn, spans, { sample: 25, concurrency: 4 });
        assert.ok(counted.trips <= 3, `${counted.trips} round trips: the first span, the counts, the sample`);
        const expected = await Promise.all(spans.map((s) => fullRead(s.lo, s.hi, counted.revision)));
        assert.deepEqual(
          counted.counts,
          expected.map((e) => e.length),
          `round ${round}: every count is the one at revision ${counted.revision}`,
        );
        assert.deepEqual(
          counted.sample.map((kv) => kv.key.toString('hex')),
          expected
            .flat()
            .slice(0, 25)
            .map((k) => k.toString('hex')),
          'the sample is the first keys of the spans in order',
        );
        const sampledSpans = counted.queries - spans.length;
        assert.ok(sampledSpans <= 25, 'beyond one count per span, only the spans holding the sample are read');
      }
    } finally {
      stop = true;
      await writer;
    }
    assert.ok(writes > 0, 'the writer wrote while counting');
  });

  it('the delete-prefix preview is the count and first keys of a full read at its revision', async () => {
    const preview = await previewPrefixDelete(ns, b('app/'), 7);
    await conn.write('put after the preview', (c) => c.put('/tenant/app/0\u00ff-new/x').value('v').exec());
    const then = await under('/tenant/app/', preview.revision);
    assert.equal(preview.count, then.length);
    assert.deepEqual(
      preview.sample.map((k) => displayKey(k)),
      then.slice(0, 7).map((k) => displayKey(k.subarray('/tenant/'.length))),
    );
    assert.notEqual((await under('/tenant/app/')).length, preview.count, 'the later put is not in the preview');
    const none = await previewPrefixDelete(ns, b('nothing/'));
    assert.deepEqual([none.count, none.sample.length], [0, 0]);
    assert.ok(BigInt(none.revision) > 0n, 'an empty preview still names its revision');
  });

  it("bulk delete's preview counts overlapping targets once, at one revision, as a full read does", async () => {
    const app = await under('/tenant/app/');
    const someFolder = app[40].subarray(0, app[40].lastIndexOf(b('/')) + 1);
    const targets = [
      { key: b('app/'), prefix: true },
      // Inside the prefix above: counted once.
      { key: someFolder.subarray('/tenant/'.length), prefix: true },
      { key: app[3].subarray('/tenant/'.length) },
      { key: b('root-key') },
      { key: b('missing-key') },
      { key: b('missing/'), prefix: true },
    ];
    const preview = await previewBulkDelete(ns, targets);
    await conn.write('put after the preview', (c) => c.put('/tenant/root-key2').value('v').exec());
    await conn.write('delete after the preview', (c) => c.delete().key(app[5]).exec());
    const then = [...(await under('/tenant/app/', preview.revision)), b('/tenant/root-key')];
    assert.equal(preview.keys, then.length);
    assert.deepEqual(
      preview.sample,
      then.slice(0, 20).map((k) => displayKey(k.subarray('/tenant/'.length))),
    );
  });

  it("Go to Key's search returns the first keys and the count of a full read", async () => {
    const found = await searchKeys(ns, b('app/1'), 5);
    const all = await under('/tenant/app/1');
    assert.equal(found.total, all.length);
    assert.deepEqual(
      found.keys.map((k) => k.toString('hex')),
      all.slice(0, 5).map((k) => k.subarray('/tenant/'.length).toString('hex')),
    );
    const span = prefixSpan(ns, b('app/1'));
    assert.deepEqual(span.lo, b('/tenant/app/1'));
  });
});

/** The folder (up to the last '/') of a key, as hex. */
function folderOf(key: Buffer): string {
  return key.subarray(0, key.lastIndexOf(b('/')) + 1).toString('hex');
}
