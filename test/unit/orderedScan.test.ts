import * as assert from 'node:assert/strict';
import type { IKeyValue } from 'etcd3';
import { orderedScan, Ranger } from '../../src/etcd/keyspace/orderedScan';
import { Bound } from '../../src/etcd/keyspace/partition';
import { recordLine } from '../../src/etcd/transfer';
import { seededRandom } from '../rig/random';

const b = (s: string) => Buffer.from(s, 'latin1');

/** etcd's range over a sorted key list: up to `limit` keys from `from`, and the count of every key in [from, to). */
function fakeEtcd(keys: Buffer[]): Ranger & { visited: number; requests: number } {
  const sorted = [...keys].sort(Buffer.compare);
  const lowerBound = (k: Buffer | null) => {
    if (k === null) return sorted.length;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (Buffer.compare(sorted[m], k) < 0) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  const fake = {
    visited: 0,
    requests: 0,
    revision: '7',
    async range(from: Buffer, to: Bound, request: { limit: number }) {
      const a = lowerBound(from);
      const z = Math.max(a, lowerBound(to));
      fake.visited += z - a;
      fake.requests++;
      const kvs = sorted
        .slice(a, request.limit ? Math.min(z, a + request.limit) : z)
        .map((key) => ({ key }) as IKeyValue);
      return { kvs, count: z - a, more: z - a > kvs.length };
    },
  };
  return fake;
}

describe('ordered scan (export read path)', () => {
  const rand = seededRandom(11);
  const shapes: Record<string, () => Buffer[]> = {
    '60,000 sequential numbers': () =>
      Array.from({ length: 60_000 }, (_, i) => b(`/k/${String(i * 7).padStart(8, '0')}`)),
    'clusters far apart in byte space': () =>
      ['/k/a/', '/k/m/x/y/', '/k/zz', '/k/\xff\xff'].flatMap((p, c) =>
        Array.from({ length: 5_000 * (c + 1) }, (_, i) => b(`${p}${i}`)),
      ),
    'random names of varied length, binary bytes': () =>
      Array.from({ length: 30_000 }, () =>
        Buffer.concat([
          b('/k/'),
          Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 256))),
        ]),
      ),
    'one key': () => [b('/k/only')],
    nothing: () => [],
  };
  for (const [name, make] of Object.entries(shapes)) {
    it(`reads every key once, in order, counting each a few times (plain paging: ~keys/page): ${name}`, async () => {
      const keys = [...new Map(make().map((k) => [k.toString('latin1'), k])).values()];
      const etcd = fakeEtcd([...keys, b('/j/before'), b('/l/after')]);
      let n = 0;
      let previous: Buffer | undefined;
      let biggest = 0;
      for await (const page of orderedScan(etcd, b('/k/'), b('/k0'), { pageSize: 1000 })) {
        biggest = Math.max(biggest, page.length);
        for (const kv of page) {
          if (previous) assert.ok(Buffer.compare(previous, kv.key) < 0, 'ascending, no repeats');
          assert.ok(kv.key.subarray(0, 3).equals(b('/k/')), 'inside the range');
          previous = kv.key;
          n++;
        }
      }
      assert.equal(n, keys.length);
      assert.ok(biggest <= 1000, 'bounded pages');
      if (keys.length >= 10_000) {
        assert.ok(etcd.visited / keys.length < 6, `each key counted ${(etcd.visited / keys.length).toFixed(2)} times`);
        assert.ok(etcd.requests < (keys.length / 1000) * 6 + 200, `${etcd.requests} requests`);
      }
    });
  }

  it('writes an export line exactly as JSON.stringify of the record', () => {
    const kv = {
      key: b('/k'),
      value: Buffer.from([0xff, 0x00]),
      create_revision: '5',
      mod_revision: '9',
      version: '2',
      lease: '694d81d4b6d8b30b',
    } as unknown as IKeyValue;
    const record = {
      key: 'a"\\\n\u2028é',
      keyEncoding: 'utf8',
      value: '/wA=',
      valueEncoding: 'base64',
      createRevision: '5',
      modRevision: '9',
      version: '2',
      lease: '',
    };
    const line = recordLine(Buffer.from(record.key, 'utf8'), { ...kv, lease: '7587869434223359755' } as IKeyValue);
    record.lease = BigInt('7587869434223359755').toString(16).padStart(16, '0');
    assert.equal(line, JSON.stringify(record) + '\n');
    const noLease = recordLine(b('x'), { ...kv, lease: '0' } as IKeyValue);
    assert.equal(
      noLease,
      JSON.stringify({
        key: 'x',
        keyEncoding: 'utf8',
        value: '/wA=',
        valueEncoding: 'base64',
        createRevision: '5',
        modRevision: '9',
        version: '2',
      }) + '\n',
    );
  });
});
