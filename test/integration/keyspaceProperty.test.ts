import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { endOf } from '../../src/etcd/keyspace/partition';
import { KeyspaceChild, listChildren, visitBound } from '../../src/etcd/keyspace/listChildren';
import { silentLogger } from '../../src/etcd/logger';
import { EtcdCluster, registerCleanup } from '../rig/etcd';
import { keysOnlyReadCost, listingCost } from '../rig/listingCost';
import { seededRandom } from '../rig/random';
import { seedKeys } from '../rig/seed';

registerCleanup();

interface Case {
  readonly seed: number;
  readonly separator: string;
  readonly root: Buffer;
  readonly keys: Buffer[];
  readonly style: string;
}

const STYLES = ['numbered', 'sharedSuffix', 'hash', 'words', 'binary', 'ipPort', 'mixed'] as const;

/**
 * A random keyspace under `root`: `levels` levels of folders whose names follow one style per level (numbers
 * padded or not with a shared prefix and suffix, hashes, words of varied length, arbitrary bytes, ip:port…),
 * random fan-out and leaf counts, leaves beside folders, and keys equal to a folder's name.
 */
function generate(seed: number): Case {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const separator = pick(['/', '/', '/', ':', '::']);
  const sepBytes = Buffer.from(separator);
  const root = Buffer.from(`p${seed}${separator}`);
  const target = int(1100, 2600);
  const levels = int(1, 3);
  const styles = Array.from({ length: levels }, () => pick(STYLES));
  const pre = pick(['', 'team-', 'ip-10-0-', 'node', 'x']);
  const suf = pick(['', '-prod', '.ec2.internal', '.v12', '-x']);
  const width = int(1, 5);
  const alphabet = pick(['abc', 'abcdefghijklmnopqrstuvwxyz', '0123456789abcdef', 'aZ09-_.']);
  const clean = (b: Buffer): Buffer => {
    // A name never holds the separator (it would be two levels).
    let out = b;
    for (let at = out.indexOf(sepBytes); at >= 0; at = out.indexOf(sepBytes))
      out = Buffer.concat([out.subarray(0, at), Buffer.from('_'), out.subarray(at + sepBytes.length)]);
    return out.length ? out : Buffer.from('_');
  };
  const name = (style: string, i: number): Buffer => {
    switch (style) {
      case 'numbered':
        return Buffer.from(`${pre}${rand() < 0.5 ? String(i).padStart(width, '0') : String(i)}${suf}`);
      case 'sharedSuffix':
        return Buffer.from(`${pre}${String(i * 7 + int(0, 6)).padStart(3, '0')}${suf || '-staging'}`);
      case 'hash':
        return Buffer.from(Array.from({ length: int(4, 12) }, () => '0123456789abcdef'[int(0, 15)]).join(''));
      case 'words':
        return Buffer.from(Array.from({ length: int(1, 14) }, () => alphabet[int(0, alphabet.length - 1)]).join(''));
      case 'binary':
        return clean(
          Buffer.from(
            Array.from({ length: int(1, 6) }, () =>
              pick([0x00, 0x01, 0x2e, 0x2f, 0x30, 0x39, 0x7f, 0x80, 0xc3, 0xfe, 0xff, int(0, 255)]),
            ),
          ),
        );
      case 'ipPort':
        return Buffer.from(`10.${int(0, 3)}.${int(0, 255)}.${int(1, 254)}:${pick([80, 443, 8080, 2379])}`);
      default:
        return name(pick(STYLES.slice(0, 6)), i);
    }
  };
  const keys = new Map<string, Buffer>();
  const addKey = (k: Buffer) => keys.set(k.toString('hex'), k);
  // Folder sizes vary a lot (a few big ones among many small ones), like real keyspaces.
  const grow = (prefix: Buffer, level: number, budget: number): void => {
    if (keys.size >= target || budget <= 0) return;
    if (level === levels) {
      const leaves = Math.max(1, Math.min(budget, int(1, 4) === 1 ? int(50, 400) : int(1, 30)));
      for (let i = 0; i < leaves && keys.size < target; i++)
        addKey(Buffer.concat([prefix, clean(name(pick(['numbered', 'hash', 'words']), i))]));
      return;
    }
    const fanout = int(1, rand() < 0.3 ? 400 : 40);
    for (let i = 0; i < fanout && keys.size < target; i++) {
      const child = name(styles[level], i);
      const folder = Buffer.concat([prefix, clean(child), sepBytes]);
      if (rand() < 0.05) addKey(Buffer.concat([prefix, clean(child)])); // a key that is also a folder
      if (rand() < 0.03) addKey(folder); // a key ending in the separator
      grow(folder, level + 1, Math.ceil((budget / fanout) * (rand() < 0.1 ? 8 : 1)));
    }
    if (rand() < 0.3) for (let i = 0; i < int(1, 20); i++) addKey(Buffer.concat([prefix, clean(name('words', i))])); // leaves beside folders
  };
  for (let round = 0; round < 20 && keys.size < target; round++) grow(root, 0, target - keys.size);
  return { seed, separator, root, keys: [...keys.values()].sort(Buffer.compare), style: styles.join('>') };
}

function expectedChildren(all: Buffer[], prefix: Buffer, sep: Buffer): string[] {
  const out = new Set<string>();
  for (const key of all) {
    if (key.length < prefix.length || !key.subarray(0, prefix.length).equals(prefix)) continue;
    const rest = key.subarray(prefix.length);
    const cut = rest.indexOf(sep);
    out.add(
      cut < 0
        ? `key:${key.toString('hex')}`
        : `folder:${key.subarray(0, prefix.length + cut + sep.length).toString('hex')}`,
    );
  }
  return [...out].sort();
}

const describeChild = (c: KeyspaceChild) => `${c.kind}:${c.key.toString('hex')}`;

/** Keys of `sorted` under `prefix`. */
function keysUnder(sorted: Buffer[], prefix: Buffer): number {
  const lower = (key: Buffer | null) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key !== null && Buffer.compare(sorted[mid], key) < 0) lo = mid + 1;
      else if (key === null) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return lower(endOf(prefix)) - lower(prefix);
}

const CASES = Number(process.env.KEYSPACE_PROPERTY_CASES ?? 200);

describe('keyspace listing on 200 seeded random keyspaces (real etcd)', function () {
  this.timeout(600_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;

  before(async () => {
    cluster = await EtcdCluster.start({ quotaBackendBytes: 1024 ** 3 });
    conn = new EtcdConnection(
      { id: 'p', name: 'p', endpoints: cluster.endpoints, timeoutMs: 60_000 },
      {},
      silentLogger,
    );
  });
  after(async () => {
    await conn?.close();
    await cluster?.stop();
  });

  it('lists every folder exactly (vs. a full read), in key order, within the visit budget', async () => {
    let worst = { ratio: 0, where: '' };
    let worstCost = { ratio: 0, where: '' };
    for (let seed = 1; seed <= CASES; seed++) {
      const c = generate(seed);
      await seedKeys(conn, c.keys, { parallel: Infinity });
      const sep = Buffer.from(c.separator);
      const full = await conn.call('full read', (cl) =>
        cl.kv.range({ key: c.root, range_end: endOf(c.root)!, keys_only: true }),
      );
      const all = full.kvs.map((kv) => kv.key);
      assert.equal(all.length, c.keys.length, `seed ${seed}: seeded`);
      // The root, and the biggest folder at each level below it.
      const prefixes = [c.root];
      for (let depth = 0; depth < 2; depth++) {
        const parent = prefixes[prefixes.length - 1];
        const sizes = new Map<string, number>();
        for (const k of all) {
          if (!k.subarray(0, parent.length).equals(parent)) continue;
          const cut = k.subarray(parent.length).indexOf(sep);
          if (cut >= 0) {
            const id = k.subarray(0, parent.length + cut + sep.length).toString('hex');
            sizes.set(id, (sizes.get(id) ?? 0) + 1);
          }
        }
        const biggest = [...sizes].sort((a, b) => b[1] - a[1])[0];
        if (!biggest) break;
        prefixes.push(Buffer.from(biggest[0], 'hex'));
      }
      for (const prefix of prefixes) {
        const expected = expectedChildren(all, prefix, sep);
        const folderKeys = all.filter((k) => k.subarray(0, prefix.length).equals(prefix)).length;
        // Tiny pages (many listings per folder) on every tenth case, bigger ones elsewhere.
        for (const pageSize of [seed % 10 === 0 ? 1 + (seed % 7) : 40 + (seed % 90), 500]) {
          const where = `seed ${seed} (${c.style}, sep "${c.separator}") prefix ${prefix.toString('hex')} page ${pageSize}`;
          const seen: string[] = [];
          // Every third case starts with the folder's leading-byte split (the default; which half answers first, and
          // so the first request, depends on the server's timing), the others with one first request over the
          // folder (deterministic requests: the worst ratios below are theirs).
          const leadingSplit = seed % 3 === 1;
          const opts = { separator: c.separator, pageSize, leadingSplit };
          let page = await listChildren(conn, prefix, opts);
          const revision = page.revision;
          let pages = 0;
          for (;;) {
            pages++;
            assert.ok(page.children.length <= pageSize, `${where}: a page holds at most its size`);
            assert.ok(
              page.visited <= visitBound(folderKeys),
              `${where}: Σcount ${page.visited} over the budget ${visitBound(folderKeys)} (${folderKeys} keys)`,
            );
            if (pages === 1 && pageSize === 500) {
              const ratio = page.visited / Math.max(1, folderKeys);
              // What the listing cost against one keys-only read of the folder; with the leading split first, that split
              // too (every key once more, at most 64 ranges).
              const cost = listingCost(page);
              const read = keysOnlyReadCost(folderKeys);
              const split = leadingSplit ? folderKeys + 50 * 64 : 0;
              assert.ok(cost <= 2 * read + split, `${where}: cost ${cost} over two keys-only reads (${read} each)`);
              if (!leadingSplit && ratio > worst.ratio) worst = { ratio, where };
              if (!leadingSplit && cost / read > worstCost.ratio) worstCost = { ratio: cost / read, where };
            }
            for (const child of page.children)
              if (child.keys !== undefined)
                assert.equal(child.keys, keysUnder(all, child.key), `${where}: keys of ${child.key.toString('hex')}`);
            seen.push(...page.children.map(describeChild));
            if (!page.next) break;
            assert.ok(pages < 5000, `${where}: paging terminates`);
            page = await listChildren(conn, prefix, { ...opts, after: page.next, revision });
          }
          assert.equal(new Set(seen).size, seen.length, `${where}: no child twice`);
          const order = [...seen].sort((a, b) =>
            Buffer.compare(Buffer.from(a.split(':')[1], 'hex'), Buffer.from(b.split(':')[1], 'hex')),
          );
          assert.deepEqual(seen, order, `${where}: children in key order`);
          assert.deepEqual([...seen].sort(), expected, `${where}: exactly the children of a full read`);
        }
      }
      await conn.write('clean', (cl) => cl.kv.deleteRange({ key: c.root, range_end: endOf(c.root)! }));
    }
    console.log(`      worst first page: Σcount/keys ${worst.ratio.toFixed(2)} at ${worst.where}`);
    console.log(`      worst first page against a keys-only read: ${worstCost.ratio.toFixed(2)} at ${worstCost.where}`);
  });
});
