import * as assert from 'node:assert/strict';
import type { IRangeRequest } from 'etcd3';
import type { EtcdConnection } from '../../src/etcd/connection';
import { ChildrenPage, ListOptions, listChildren } from '../../src/etcd/keyspace/listChildren';
import { randomWord, seededRandom } from '../rig/random';

/**
 * A connection answering ranges and read-only Txns from a sorted key list at the revision they are pinned to, else
 * the unpinned Txns one after another at the revisions listed (the last one from then on: two requests sent together
 * may be read on either side of a write), each unpinned Txn after the delay listed for it. Records what was asked,
 * in the order answered.
 */
function fakeConnection(keys: string[], options: { txns?: string[]; delays?: number[]; later?: string[] } = {}) {
  const { txns = ['5'], delays = [], later = [] } = options;
  const at = new Map<string, string[]>([
    ['5', [...new Set(keys)].sort()],
    ['6', [...new Set([...keys, ...later])].sort()],
  ]);
  let sorted: string[] = [];
  const lower = (k: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (sorted[m] < k) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  const asked: IRangeRequest[] = [];
  const unpinnedTxns: Array<{ revision: string; ranges: number }> = [];
  const answer = (req: IRangeRequest, revision: string) => {
    asked.push(req);
    sorted = at.get(revision)!;
    const to = req.range_end as Buffer;
    const a = lower((req.key as Buffer).toString('latin1'));
    const z = to.length === 1 && to[0] === 0 ? sorted.length : Math.max(a, lower(to.toString('latin1')));
    const limit = Number(req.limit ?? 0);
    const n = limit > 0 ? Math.min(limit, z - a) : z - a;
    const kvs = sorted.slice(a, a + n).map((k) => ({
      key: Buffer.from(k, 'latin1'),
      create_revision: '1',
      mod_revision: '1',
      version: '1',
      lease: '0',
    }));
    return { kvs, count: String(z - a), more: a + n < z };
  };
  const kv = {
    async range(req: IRangeRequest) {
      const revision = String(req.revision ?? txns[txns.length - 1]);
      return { ...answer(req, revision), header: { revision } };
    },
    async txn(req: { success: Array<{ request_range: IRangeRequest }> }) {
      const reqs = req.success.map((op) => op.request_range);
      let revision = reqs[0].revision === undefined ? undefined : String(reqs[0].revision);
      if (revision === undefined) {
        const i = unpinnedTxns.length;
        revision = txns[Math.min(i, txns.length - 1)];
        unpinnedTxns.push({ revision, ranges: reqs.length });
        if (delays[i]) await new Promise((resolve) => setTimeout(resolve, delays[i]));
      }
      const rev = revision;
      return { header: { revision: rev }, responses: reqs.map((r) => ({ response_range: answer(r, rev) })) };
    },
  };
  const conn = {
    absoluteKey: (key: Buffer) => key,
    relativeKey: (key: Buffer) => key,
    call: (_operation: string, fn: (client: unknown) => Promise<unknown>) => fn({ kv }),
  };
  return { conn: conn as unknown as EtcdConnection, asked, unpinnedTxns };
}

/** The first `max` children of `prefix`, from the sorted keys. */
function firstChildren(keys: string[], prefix: string, max: number): string[] {
  const out = new Set<string>();
  for (const k of [...new Set(keys)].sort()) {
    if (!k.startsWith(prefix)) continue;
    const cut = k.indexOf('/', prefix.length);
    out.add(cut < 0 ? k : k.slice(0, cut + 1));
    if (out.size === max) break;
  }
  return [...out];
}

describe('listChildren: the leading-byte split first, in two halves', () => {
  // Namespaces of Zipf-like sizes named by random words: the first page of keys shows a few of them.
  const rand = seededRandom(11);
  const keys: string[] = [];
  for (let rank = 1; rank <= 300; rank++) {
    const ns = randomWord(rand);
    for (let i = 0; i < Math.max(3, Math.floor(20000 / rank)); i++) keys.push(`/r/${ns}/pod-${i}`);
  }
  const expected = firstChildren(keys, '/r/', 100);
  const list = (conn: EtcdConnection, options: Partial<ListOptions> = {}) =>
    listChildren(conn, Buffer.from('/r/'), { separator: '/', pageSize: 100, ...options });
  const names = (page: ChildrenPage) => page.children.map((c) => c.key.toString('latin1'));
  const folderEnd = Buffer.from('/r0');
  /** The first request: the only range asked for a page of keys. */
  const firstRequest = (asked: IRangeRequest[]) => asked.find((r) => Number(r.limit) === 1024)!;

  it('reads the first page of keys from the leftmost buckets only, every request after the halves pinned', async () => {
    const { conn, asked, unpinnedTxns } = fakeConnection(keys);
    const page = await list(conn);
    assert.deepEqual(names(page), expected);
    assert.equal(page.revision, '5');
    assert.equal(page.totalKeys, keys.length);
    assert.equal(unpinnedTxns.length, 2, 'two halves, sent before any answer');
    assert.ok(
      unpinnedTxns.every((t) => t.ranges >= 10),
      JSON.stringify(unpinnedTxns),
    );
    const halves = unpinnedTxns[0].ranges + unpinnedTxns[1].ranges;
    assert.ok(asked.slice(halves).every((r) => r.revision === '5'));
    // Not the whole folder: the first request stops where the buckets holding its 1,024 keys end.
    assert.ok(Buffer.compare(firstRequest(asked).range_end as Buffer, folderEnd) < 0);
    // Each key visited once by the split, a few more by the first request: not twice.
    const keysOfFirst = Number(page.visited) - keys.length;
    assert.ok(keysOfFirst > 0 && page.visited < 1.9 * keys.length, `${page.visited} keys visited`);
  });

  it('asks the half answered last again when read at another revision: nothing of that revision shows', async () => {
    // Revision 6 has namespaces revision 5 has not, all over the folder: none may show.
    const later = Array.from({ length: 26 }, (_, i) => `/r/${String.fromCharCode(0x61 + i)}-new/pod-0`);
    const { conn, asked, unpinnedTxns } = fakeConnection(keys, { txns: ['5', '6'], later });
    const page = await list(conn);
    assert.deepEqual(names(page), expected);
    assert.equal(page.revision, '5');
    assert.deepEqual(
      unpinnedTxns.map((t) => t.revision),
      ['5', '6'],
    );
    // The right half (read at 6) asked again at 5: its ranges twice.
    const right = asked.filter((r) => (r.key as Buffer).toString('latin1') === '/r/m');
    assert.deepEqual(
      right.map((r) => r.revision),
      [undefined, '5'],
    );
  });

  it('goes on at the revision of the half answered first', async () => {
    // The left half is slow and read at 5, the right one answers first at 6: the listing is at 6.
    const later = Array.from({ length: 26 }, (_, i) => `/r/${String.fromCharCode(0x61 + i)}-new/pod-0`);
    const { conn, asked } = fakeConnection(keys, { txns: ['5', '6'], delays: [30], later });
    const page = await list(conn);
    assert.deepEqual(names(page), firstChildren([...keys, ...later], '/r/', 100));
    assert.equal(page.revision, '6');
    assert.ok(asked.filter((r) => r.revision !== undefined).every((r) => r.revision === '6'));
  });

  it('reads the whole folder at once when the right half answers first with few keys', async () => {
    // Every name starts below 'm': the left half holds the folder. Waiting for it, then reading its leftmost
    // bucket (all of it) would visit it twice one after the other.
    const left = keys.map((k) => k.replace('/r/', '/r/a'));
    const { conn, asked } = fakeConnection(left, { delays: [30] });
    const page = await list(conn);
    assert.deepEqual(names(page), firstChildren(left, '/r/', 100));
    const first = asked.indexOf(firstRequest(asked));
    assert.deepEqual(firstRequest(asked).range_end, folderEnd);
    // Asked (and answered) before the left half's ranges were.
    assert.ok(
      asked.findIndex((r) => (r.key as Buffer).toString('latin1') === '/r/' && Number(r.limit) === 1) > first,
      'answered before the left half',
    );
  });

  it('is not sent when turned off, nor with one request in flight', async () => {
    for (const options of [{ leadingSplit: false }, { concurrency: 1 }]) {
      const { conn, asked, unpinnedTxns } = fakeConnection(keys);
      const page = await list(conn, options);
      assert.deepEqual(names(page), expected);
      assert.equal(unpinnedTxns.length, 0, JSON.stringify(options));
      assert.deepEqual(asked[0].range_end, folderEnd);
      assert.ok(
        asked.slice(1).every((r) => r.revision === '5'),
        JSON.stringify(options),
      );
    }
  });
});
