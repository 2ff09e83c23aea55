import * as assert from 'node:assert/strict';
import type { IRangeRequest } from 'etcd3';
import type { EtcdConnection } from '../../src/etcd/connection';
import { listChildren } from '../../src/etcd/keyspace/listChildren';
import { randomWord, seededRandom } from '../rig/random';

/**
 * A connection answering ranges and read-only Txns from a sorted key list, each kind at its own revision unless
 * pinned (as two requests sent together may be read on either side of a write), recording what was asked.
 */
function fakeConnection(
  keys: string[],
  revisions: { range: string; txn: string },
  later: string[] = [],
  slowRange = false,
) {
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
      const revision = String(req.revision ?? revisions.range);
      // The first request of a big folder: answered after the split sent beside it.
      if (slowRange && req.revision === undefined) await new Promise((resolve) => setTimeout(resolve, 30));
      return { ...answer(req, revision), header: { revision } };
    },
    async txn(req: { success: Array<{ request_range: IRangeRequest }> }) {
      const reqs = req.success.map((op) => op.request_range);
      const revision = String(reqs[0].revision ?? revisions.txn);
      return { header: { revision }, responses: reqs.map((r) => ({ response_range: answer(r, revision) })) };
    },
  };
  const conn = {
    absoluteKey: (key: Buffer) => key,
    relativeKey: (key: Buffer) => key,
    call: (_operation: string, fn: (client: unknown) => Promise<unknown>) => fn({ kv }),
  };
  return { conn: conn as unknown as EtcdConnection, asked };
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

describe('listChildren: the split sent beside a slow first request', () => {
  // Namespaces of Zipf-like sizes named by random words: the first page of keys shows a few of them.
  const rand = seededRandom(11);
  const keys: string[] = [];
  for (let rank = 1; rank <= 300; rank++) {
    const ns = randomWord(rand);
    for (let i = 0; i < Math.max(3, Math.floor(20000 / rank)); i++) keys.push(`/r/${ns}/pod-${i}`);
  }
  const expected = firstChildren(keys, '/r/', 100);

  it('is used when answered at the first request’s revision: every later request pinned to it', async () => {
    const { conn, asked } = fakeConnection(keys, { range: '5', txn: '5' });
    const page = await listChildren(conn, Buffer.from('/r/'), { separator: '/', pageSize: 100, speculateAfterMs: 0 });
    assert.deepEqual(
      page.children.map((c) => c.key.toString('latin1')),
      expected,
    );
    assert.equal(page.revision, '5');
    // The first request, then the split (unpinned: sent before any answer), then only pinned requests.
    assert.equal(asked[0].limit, 1024);
    const split = asked.slice(1).filter((r) => r.revision === undefined);
    assert.ok(split.length >= 40, `${split.length} unpinned ranges beside the first request`);
    assert.ok(asked.slice(1 + split.length).every((r) => r.revision === '5'));
  });

  it('is dropped when answered at another revision (a write between the two): the listing is still exact', async () => {
    // Revision 6 has namespaces revision 5 has not, all over the folder: none may show.
    const later = Array.from({ length: 26 }, (_, i) => `/r/${String.fromCharCode(0x61 + i)}-new/pod-0`);
    const { conn, asked } = fakeConnection(keys, { range: '5', txn: '6' }, later);
    const page = await listChildren(conn, Buffer.from('/r/'), { separator: '/', pageSize: 100, speculateAfterMs: 0 });
    assert.deepEqual(
      page.children.map((c) => c.key.toString('latin1')),
      expected,
    );
    assert.equal(page.revision, '5');
    const unpinned = asked.filter((r) => r.revision === undefined).length;
    assert.ok(unpinned > 40, 'the split was sent');
    // Its answers counted (the server visited those keys), none of them used: the rest was asked again, pinned.
    assert.ok(page.visited >= 2 * keys.length, `${page.visited} keys visited`);
  });

  it('answering first at another revision, does not move the listing off the first request’s revision', async () => {
    const later = Array.from({ length: 26 }, (_, i) => `/r/${String.fromCharCode(0x61 + i)}-new/pod-0`);
    const { conn, asked } = fakeConnection(keys, { range: '5', txn: '6' }, later, true);
    const page = await listChildren(conn, Buffer.from('/r/'), { separator: '/', pageSize: 100, speculateAfterMs: 0 });
    assert.deepEqual(
      page.children.map((c) => c.key.toString('latin1')),
      expected,
    );
    assert.equal(page.revision, '5');
    assert.ok(asked.filter((r) => r.revision !== undefined).every((r) => r.revision === '5'));
  });

  it('is not sent when the first request answers in time, nor with one request in flight', async () => {
    for (const options of [{ speculateAfterMs: Infinity }, { speculateAfterMs: 0, concurrency: 1 }]) {
      const { conn, asked } = fakeConnection(keys, { range: '5', txn: '5' });
      const page = await listChildren(conn, Buffer.from('/r/'), { separator: '/', pageSize: 100, ...options });
      assert.deepEqual(
        page.children.map((c) => c.key.toString('latin1')),
        expected,
      );
      assert.ok(
        asked.slice(1).every((r) => r.revision === '5'),
        JSON.stringify(options),
      );
    }
  });
});
