/**
 * `npm run model:tree` — the tree's listing against an in-memory model of etcd, in seconds instead of the bench's
 * twenty minutes: for trying a change to listChildren on many keyspace shapes before measuring it on a real etcd
 * with `npm run bench:tree`. Not a benchmark (its times are a model's), and never a test.
 *
 * The model answers ranges and read-only Txns the way etcd ≤ 3.6 does where the listing's cost comes from: an
 * answer's `count` is every key in [key, range_end) whatever the limit, keys come back in order, no sort. Its clock:
 * a request runs on one of MODEL_CORES server cores (per range 20 µs + 0.4 µs per key visited + 1.5 µs per key
 * returned), 0.4 ms each way on the wire, and the client decodes 4.5 µs per key returned on one thread, answers in the
 * order they arrive (MODEL_CLIENT_US adds a client cost per range: ~25 µs measured with etcd3, left out of the
 * calibration). Calibrated on this machine's etcd 3.4 (the tenth bench shape's /registry/pods/: model 2.5 s, 4.39
 * visits/key, 1,882 requests; bench 2.5 s, 4.39, 1,860). Every listing is checked against the folder's real first
 * page.
 *
 * MODEL_SHAPES=1,10 picks bench shapes (1-based), MODEL_EXTRA=1 adds the shapes of treeModelShapes.ts (kept out of
 * the bench so that a change tuned on one set can be checked on the other), MODEL_EXTRA=only runs those alone,
 * MODEL_FOLDERS=/a/,/b/ filters folders, MODEL_TRACE=1 prints every round trip (2: every range), and
 * MODEL_IMPL=out/…/other.js runs another module's `listChildren` (same signature) instead, to compare planners.
 * Sorted keyspaces are cached in $TMPDIR/etcd-explorer-model/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { IRangeRequest } from 'etcd3';
import { EtcdConnection } from '../src/etcd/connection';
import { listChildren as landed } from '../src/etcd/keyspace/listChildren';
import { EXTRA_SHAPES } from './treeModelShapes';
import { SHAPES, Shape } from './treeShapes';

const MS_PER_US = 1e-3;
const CORES = Number(process.env.MODEL_CORES ?? 2);
/** Client time per range (encoding, decoding, planning): 0 as calibrated; ~25 µs measured with etcd3 here. */
const CLIENT_US = Number(process.env.MODEL_CLIENT_US ?? 0);
const TRACE = Number(process.env.MODEL_TRACE ?? 0);
const BIG = 100_000;

/** Every key of a shape, sorted as etcd sorts them (bytes; latin1 strings compare the same way). */
class Keyspace {
  constructor(readonly keys: string[]) {}

  lower(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index range of [from, to); `to` "\0" or absent: to the end. */
  span(from: Buffer, to: Buffer | undefined): [number, number] {
    const a = this.lower(from.toString('latin1'));
    const b = !to || (to.length === 1 && to[0] === 0) ? this.keys.length : this.lower(to.toString('latin1'));
    return [a, Math.max(a, b)];
  }
}

/** The model's clock: requests complete in the order of their modelled times, one at a time. */
class Clock {
  now = 0;
  private readonly cores: number[] = Array<number>(CORES).fill(0);
  /** The client's decoding, as busy intervals sorted by start: an answer is decoded in the first gap after it arrives. */
  private client: Array<[number, number]> = [];
  private readonly pending: Array<{ at: number; seq: number; resolve: () => void }> = [];
  private seq = 0;
  private scheduled = false;

  /** Resolves when a request sent now, costing `server` ms on one core and `decode` ms on the client, is answered. */
  request(server: number, decode: number): Promise<void> {
    const arrive = this.now + 0.4;
    let core = 0;
    for (let i = 1; i < this.cores.length; i++) if (this.cores[i] < this.cores[core]) core = i;
    const start = Math.max(arrive, this.cores[core]);
    this.cores[core] = start + server;
    const done = this.decode(start + server + 0.4, decode);
    return new Promise((resolve) => {
      this.pending.push({ at: done, seq: this.seq++, resolve });
      this.pump();
    });
  }

  /** When the client has decoded an answer arriving at `arrive` that takes `ms` (FIFO by arrival, not by sending). */
  private decode(arrive: number, ms: number): number {
    this.client = this.client.filter(([, e]) => e > this.now);
    let t = arrive;
    let i = 0;
    for (; i < this.client.length; i++) {
      const [s, e] = this.client[i];
      if (t + ms <= s) break;
      t = Math.max(t, e);
    }
    this.client.splice(i, 0, [t, t + ms]);
    return t + ms;
  }

  /** Once the listing waits (no microtask left), the earliest request completes. */
  private pump(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending.shift();
      if (!next) return;
      this.now = Math.max(this.now, next.at);
      next.resolve();
      if (this.pending.length) this.pump();
    });
  }
}

interface Meter {
  returned: number;
  trips: number;
}

function modelConnection(space: Keyspace, clock: Clock, meter: Meter): EtcdConnection {
  const answer = (req: IRangeRequest) => {
    const [a, b] = space.span(req.key as Buffer, req.range_end as Buffer | undefined);
    const count = b - a;
    const limit = Number(req.limit ?? 0);
    const n = req.count_only ? 0 : limit > 0 ? Math.min(limit, count) : count;
    const kvs = space.keys.slice(a, a + n).map((key) => ({
      key: Buffer.from(key, 'latin1'),
      create_revision: '1',
      mod_revision: '1',
      version: '1',
      lease: '0',
    }));
    meter.returned += n;
    return { header: { revision: '1' }, kvs, count: String(count), more: a + n < b };
  };
  const cost = (rs: Array<ReturnType<typeof answer>>) => ({
    server: rs.reduce((t, r) => t + (20 + Number(r.count) * 0.4 + r.kvs.length * 1.5) * MS_PER_US, 0),
    decode: rs.reduce((t, r) => t + (CLIENT_US + r.kvs.length * 4.5) * MS_PER_US, 0),
  });
  const trip = async (rs: Array<ReturnType<typeof answer>>, reqs: IRangeRequest[]) => {
    const { server, decode } = cost(rs);
    await clock.request(server, decode);
    meter.trips++;
    if (TRACE) {
      const visits = rs.reduce((t, r) => t + Number(r.count), 0);
      const found = rs.filter((r) => r.kvs.length).length;
      console.log(
        `  trip ${meter.trips} ranges ${rs.length} visits ${visits} nonempty ${found} at ${clock.now.toFixed(1)} ms`,
      );
      if (TRACE > 1)
        reqs.forEach((q, i) => {
          const to = q.range_end as Buffer | undefined;
          const first = rs[i].kvs[0]?.key.toString('latin1') ?? '';
          console.log(
            `    [${JSON.stringify((q.key as Buffer).toString('latin1'))}, ${to ? JSON.stringify(to.toString('latin1')) : 'end'}) limit ${q.limit} count ${rs[i].count} ${JSON.stringify(first)}`,
          );
        });
    }
  };
  const kv = {
    async range(req: IRangeRequest) {
      const r = answer(req);
      await trip([r], [req]);
      return r;
    },
    async txn(req: { success: Array<{ request_range: IRangeRequest }> }) {
      const reqs = req.success.map((op) => op.request_range);
      const rs = reqs.map(answer);
      await trip(rs, reqs);
      return { header: { revision: '1' }, responses: rs.map((r) => ({ response_range: r })) };
    },
  };
  const conn = {
    absoluteKey: (key: Buffer) => key,
    relativeKey: (key: Buffer) => key,
    call: (_operation: string, fn: (client: unknown) => Promise<unknown>) => fn({ kv }),
  };
  return conn as unknown as EtcdConnection;
}

function load(tag: string, shape: Shape): Keyspace {
  const dir = join(tmpdir(), 'etcd-explorer-model');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${tag}.keys`);
  // One key per line: the shapes' keys hold no newline.
  if (existsSync(file)) return new Keyspace(readFileSync(file, 'latin1').split('\n'));
  const keys = [...new Set(shape.keys())].map((k) => Buffer.from(k, 'utf8').toString('latin1'));
  if (keys.some((k) => k.includes('\n'))) throw new Error(`${shape.name}: a key holds a newline`);
  keys.sort();
  writeFileSync(file, keys.join('\n'), 'latin1');
  return new Keyspace(keys);
}

/** The folder's first `max` children, read from the sorted keys directly. */
function firstChildren(space: Keyspace, prefix: string, max: number): string[] {
  const out: string[] = [];
  let i = space.lower(prefix);
  while (i < space.keys.length && space.keys[i].startsWith(prefix) && out.length < max) {
    const key = space.keys[i];
    const cut = key.indexOf('/', prefix.length);
    if (cut < 0) {
      out.push(key);
      i++;
    } else {
      out.push(key.slice(0, cut + 1));
      i = space.lower(key.slice(0, cut) + '0'); // '0' follows '/'
    }
  }
  return out;
}

async function main(): Promise<void> {
  const impl = process.env.MODEL_IMPL;
  const listChildren: typeof landed = impl
    ? ((await import(resolve(impl))) as { listChildren: typeof landed }).listChildren
    : landed;
  const picks = process.env.MODEL_SHAPES?.split(',').map(Number);
  const extra = process.env.MODEL_EXTRA;
  const folders = process.env.MODEL_FOLDERS?.split(',');
  const shapes: Array<[string, Shape]> = [];
  if (extra !== 'only') SHAPES.forEach((s, i) => (!picks || picks.includes(i + 1)) && shapes.push([`b${i + 1}`, s]));
  if (extra) EXTRA_SHAPES.forEach((s, i) => shapes.push([`x${i + 1}`, s]));
  const worst = { floor: 0, visits: 0, read: Infinity, queries: 0 };
  let wrong = 0;
  for (const [tag, shape] of shapes) {
    const space = load(tag, shape);
    for (const folder of new Set(shape.levels)) {
      if (folders && !folders.includes(folder)) continue;
      const [a, b] = space.span(Buffer.from(folder, 'latin1'), Buffer.from(folder.slice(0, -1) + '0', 'latin1'));
      const keys = b - a;
      const clock = new Clock();
      const meter: Meter = { returned: 0, trips: 0 };
      const page = await listChildren(modelConnection(space, clock, meter), Buffer.from(folder, 'latin1'), {
        separator: '/',
        pageSize: 500,
      });
      const ok =
        JSON.stringify(firstChildren(space, folder, 500)) ===
        JSON.stringify(page.children.map((c) => c.key.toString('latin1')));
      if (!ok) wrong++;
      // One count_only range, one keys-only range: what the bench compares against.
      const floor = 0.8 + (20 + keys * 0.4) * MS_PER_US;
      const read = 0.8 + (20 + keys * 6) * MS_PER_US;
      const visits = page.visited / keys;
      if (keys >= BIG) {
        worst.floor = Math.max(worst.floor, clock.now / floor);
        worst.visits = Math.max(worst.visits, visits);
        worst.read = Math.min(worst.read, read / clock.now);
        worst.queries = Math.max(worst.queries, page.queries);
      }
      console.log(
        [
          tag.padEnd(4),
          folder.slice(0, 36).padEnd(36),
          `keys ${String(keys).padStart(8)}`,
          `visits ${visits.toFixed(2)}`,
          `requests ${String(page.queries).padStart(5)}`,
          `returned ${String(meter.returned).padStart(7)}`,
          `trips ${String(meter.trips).padStart(4)}`,
          `${clock.now.toFixed(0).padStart(6)} ms`,
          `vs_floor ${(clock.now / floor).toFixed(2)}`,
          `read/ours ${(read / clock.now).toFixed(2)}`,
          ok ? '' : 'WRONG LISTING',
          keys < BIG ? '(small)' : '',
        ].join(' '),
      );
    }
  }
  console.log(
    `MODEL worst_vs_floor=${worst.floor.toFixed(2)} worst_vs_keys_read=${worst.read.toFixed(2)} worst_visits=${worst.visits.toFixed(2)} max_queries=${worst.queries} wrong=${wrong}`,
  );
  if (wrong) process.exitCode = 1;
}

void main();
