import * as assert from 'node:assert/strict';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { grantLease, leaseHex } from '../../src/etcd/leases';
import { silentLogger } from '../../src/etcd/logger';
import { CompareOp, CompareTarget, TxnSpec, dryRunTxn, runTxn } from '../../src/etcd/txn/txn';
import { parseTxnDocument } from '../../src/etcd/txn/txnDocument';
import { txnDocumentFromRecords } from '../../src/etcd/txn/txnRender';
import { readValue } from '../../src/etcd/values';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

const b = (s: string) => Buffer.from(s);

function specOf(text: string): TxnSpec {
  const parsed = parseTxnDocument(text, 'yaml');
  const errors = parsed.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], 'the document is valid');
  return parsed.spec!;
}

function isError(kind: EtcdExplorerError['kind'], message?: RegExp) {
  return (err: unknown) =>
    err instanceof EtcdExplorerError && err.kind === kind && (!message || message.test(err.message));
}

describe('txn (real etcd)', function () {
  this.timeout(120_000);
  let cluster: EtcdCluster;
  let conn: EtcdConnection;
  let other: EtcdConnection;
  const connections: EtcdConnection[] = [];
  const connect = (extra: { namespace?: string; readOnly?: boolean } = {}) => {
    const c = new EtcdConnection(
      { id: `t${connections.length}`, name: `t${connections.length}`, endpoints: cluster.endpoints, ...extra },
      {},
      silentLogger,
    );
    connections.push(c);
    return c;
  };
  const put = (key: string | Buffer, value: string | Buffer) =>
    other.write('put', (c) => c.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }));
  const value = async (key: string | Buffer) => (await readValue(conn, Buffer.from(key)))?.value.toString();
  const storeRevision = async () =>
    (await conn.call('revision', (c) => c.kv.range({ key: b('\0probe') }))).header.revision;

  before(async () => {
    cluster = await EtcdCluster.start();
    conn = connect();
    other = connect();
  });
  after(async () => {
    for (const c of connections) await c.close();
    await cluster?.stop();
  });

  it('a guarded Txn runs `success` while the key is unchanged, `failure` after another writer changed it', async () => {
    await put('/g/k', 'v1');
    const seen = (await readValue(conn, b('/g/k')))!;
    const doc = (rev: string) => `compare:
  - { key: /g/k, target: mod_revision, op: "==", value: ${rev} }
success:
  - put: { key: /g/k, value: mine }
  - get: { key: /g/k }
failure:
  - get: { key: /g/k }
`;
    const ok = await runTxn(conn, specOf(doc(seen.modRevision)));
    assert.equal(ok.succeeded, true);
    assert.equal(ok.branch, 'success');
    assert.equal(ok.responses.length, 2);
    assert.equal(ok.responses[0].kind, 'put');
    assert.equal(ok.responses[0].revision, ok.revision);
    assert.equal(ok.responses[1].kvs![0].value, 'mine', 'later ops see earlier writes of the same Txn');
    assert.equal(await value('/g/k'), 'mine');

    const before = (await readValue(conn, b('/g/k')))!;
    await put('/g/k', 'theirs');
    const conflict = await runTxn(conn, specOf(doc(before.modRevision)));
    assert.equal(conflict.succeeded, false);
    assert.equal(conflict.branch, 'failure');
    assert.equal(conflict.responses.length, 1);
    assert.equal(conflict.responses[0].kvs![0].value, 'theirs', 'the failure branch shows what changed');
    assert.equal(conflict.revision, (await readValue(conn, b('/g/k')))!.modRevision, 'nothing was written');
    assert.equal(await value('/g/k'), 'theirs');
  });

  it('every compare target with every op decides the branch as etcd does (run and dry run agree)', async () => {
    const lease = await grantLease(conn, 300);
    await put('/cmp/k', 'first');
    await conn.write('put', (c) => c.kv.put({ key: b('/cmp/k'), value: b('m'), lease }));
    const kv = (await readValue(conn, b('/cmp/k')))!;
    assert.equal(kv.version, '2');
    const actual: Record<Exclude<CompareTarget, 'value'>, bigint> = {
      version: BigInt(kv.version),
      create_revision: BigInt(kv.createRevision),
      mod_revision: BigInt(kv.modRevision),
      lease: BigInt(kv.lease),
    };
    // For each op: [an expected value that makes it hold, one that makes it fail].
    const numeric = (a: bigint): Record<CompareOp, [bigint, bigint]> => ({
      '==': [a, a + 1n],
      '!=': [a + 1n, a],
      '<': [a + 1n, a],
      '>': [a - 1n, a],
    });
    const text: Record<CompareOp, [string, string]> = {
      '==': ['m', 'n'],
      '!=': ['n', 'm'],
      '<': ['n', 'm'],
      '>': ['l', 'm'],
    };
    let checked = 0;
    for (const target of ['value', 'version', 'create_revision', 'mod_revision', 'lease'] as CompareTarget[]) {
      for (const op of ['==', '!=', '<', '>'] as CompareOp[]) {
        for (const shouldHold of [true, false]) {
          const expected =
            target === 'value'
              ? b(text[op][shouldHold ? 0 : 1])
              : numeric(actual[target])[op][shouldHold ? 0 : 1].toString();
          const spec: TxnSpec = {
            compare: [{ key: b('/cmp/k'), target, op, value: expected }],
            success: [{ kind: 'get', key: b('/cmp/k'), countOnly: true }],
            failure: [],
          };
          const label = `${target} ${op} ${expected.toString()}`;
          const run = await runTxn(conn, spec);
          assert.equal(run.succeeded, shouldHold, label);
          assert.equal(run.responses.length, shouldHold ? 1 : 0, label);
          const dry = await dryRunTxn(conn, spec);
          assert.equal(dry.wouldSucceed, shouldHold, label);
          assert.equal(dry.compares[0].holds, shouldHold, `${label} (local evaluation)`);
          checked++;
        }
      }
    }
    assert.equal(checked, 40);
    // A document spells the lease in hex; the dry run reports it in hex too.
    const dry = await dryRunTxn(
      conn,
      specOf(
        `compare:\n  - { key: /cmp/k, target: lease, op: "==", value: ${leaseHex(lease)} }\nsuccess: [ { get: { key: /cmp/k } } ]\n`,
      ),
    );
    assert.equal(dry.wouldSucceed, true);
    assert.equal(dry.compares[0].actual, leaseHex(lease));
  });

  it('every op: put (lease, prevKv), get (prefix, range, limit, keysOnly, countOnly), delete (key, prefix, range, prevKv)', async () => {
    for (const k of ['a', 'b', 'c', 'd']) await put(`/ops/${k}`, `v-${k}`);
    await put('/ops-sibling', 'outside the prefix');
    const lease = await grantLease(conn, 300);
    const result = await runTxn(
      conn,
      specOf(`compare:
  - { key: /ops/a, target: version, op: ">", value: 0 }
success:
  - put: { key: /ops/a, value: new-a, lease: ${leaseHex(lease)}, prevKv: true }
  - get: { key: /ops/, prefix: true }
  - get: { key: /ops/b, rangeEnd: /ops/d, keysOnly: true }
  - get: { key: /ops/, prefix: true, limit: 2 }
  - get: { key: /ops/, prefix: true, countOnly: true }
  - delete: { key: /ops/b, prevKv: true }
  - delete: { key: /ops/c, rangeEnd: /ops/d }
  - get: { key: /ops/, prefix: true, keysOnly: true }
failure: []
`),
    );
    assert.equal(result.branch, 'success');
    const [p, all, range, limited, counted, del, delRange, after] = result.responses;
    assert.deepEqual(
      p.prevKvs!.map((kv) => [kv.key, kv.value]),
      [['/ops/a', 'v-a']],
    );
    assert.deepEqual(
      all.kvs!.map((kv) => [kv.key, kv.value]),
      [
        ['/ops/a', 'new-a'],
        ['/ops/b', 'v-b'],
        ['/ops/c', 'v-c'],
        ['/ops/d', 'v-d'],
      ],
    );
    assert.equal(all.kvs![0].lease, leaseHex(lease));
    assert.equal(all.kvs![0].modRevision, result.revision);
    assert.deepEqual(
      range.kvs!.map((kv) => [kv.key, kv.value]),
      [
        ['/ops/b', undefined],
        ['/ops/c', undefined],
      ],
    );
    assert.equal(limited.kvs!.length, 2);
    assert.equal(limited.count, 4);
    assert.equal(counted.count, 4);
    assert.deepEqual(counted.kvs, []);
    assert.equal(del.deleted, 1);
    assert.deepEqual(
      del.prevKvs!.map((kv) => kv.key),
      ['/ops/b'],
    );
    assert.equal(delRange.deleted, 1);
    assert.deepEqual(
      after.kvs!.map((kv) => kv.key),
      ['/ops/a', '/ops/d'],
    );
    assert.equal((await readValue(conn, b('/ops/a')))!.lease, lease);

    const prefixDelete = await runTxn(
      conn,
      specOf(
        'compare:\n  - { key: /ops/a, target: value, op: "==", value: new-a }\nsuccess:\n  - delete: { key: /ops/, prefix: true, prevKv: true }\n',
      ),
    );
    assert.equal(prefixDelete.responses[0].deleted, 2);
    assert.deepEqual(
      prefixDelete.responses[0].prevKvs!.map((kv) => kv.key),
      ['/ops/a', '/ops/d'],
    );
    assert.equal(await value('/ops-sibling'), 'outside the prefix', 'a prefix delete stays inside its prefix');
  });

  it('dry run reports the branch and each compare, and writes nothing (revision unchanged)', async () => {
    await put('/dry/k', 'v');
    const kv = (await readValue(conn, b('/dry/k')))!;
    const spec = specOf(`compare:
  - { key: /dry/k, target: mod_revision, op: "==", value: ${kv.modRevision} }
  - { key: /dry/absent, target: create_revision, op: "==", value: 0 }
  - { key: /dry/k, target: value, op: "==", value: v }
success:
  - put: { key: /dry/k, value: changed }
  - delete: { key: /dry/sub/, prefix: true }
failure:
  - put: { key: /dry/failed, value: x }
`);
    const before = await storeRevision();
    const dry = await dryRunTxn(conn, spec);
    assert.equal(dry.wouldSucceed, true);
    assert.equal(dry.branch, 'success');
    assert.equal(dry.revision, before);
    assert.deepEqual(
      dry.compares.map((c) => [c.key, c.target, c.expected, c.actual, c.holds]),
      [
        ['/dry/k', 'mod_revision', kv.modRevision, kv.modRevision, true],
        ['/dry/absent', 'create_revision', '0', undefined, true],
        ['/dry/k', 'value', 'v', 'v', true],
      ],
    );
    assert.deepEqual(dry.wouldRun, spec.success);
    assert.equal(await storeRevision(), before, 'no revision was created');
    assert.equal(await value('/dry/k'), 'v');

    await put('/dry/k', 'moved on');
    const stale = await dryRunTxn(conn, spec);
    assert.equal(stale.branch, 'failure');
    assert.deepEqual(
      stale.compares.map((c) => c.holds),
      [false, true, false],
    );
    assert.equal(stale.compares[2].actual, 'moved on');
    assert.deepEqual(stale.wouldRun, spec.failure);
    assert.equal(await readValue(conn, b('/dry/failed')), undefined);
  });

  it('a 129-op spec is refused before anything is sent; the server enforces the same limit', async () => {
    const spec: TxnSpec = {
      compare: [],
      success: Array.from({ length: 129 }, (_, i) => ({ kind: 'put' as const, key: b(`/many/${i}`), value: b('x') })),
      failure: [],
    };
    let calls = 0;
    const sub = conn.onDidCall(() => calls++);
    try {
      await assert.rejects(runTxn(conn, spec), isError('tooManyOps', /129/));
      const compares = {
        compare: Array.from({ length: 129 }, (_, i) => ({
          key: b(`/many/${i}`),
          target: 'version' as const,
          op: '>' as const,
          value: '0',
        })),
        success: [],
        failure: [],
      };
      await assert.rejects(dryRunTxn(conn, compares), isError('tooManyOps'));
      assert.equal(calls, 0, 'no call reached the server');
    } finally {
      sub.dispose();
    }
    // With the client check lifted the server refuses it too, and the refusal reads the same.
    await assert.rejects(runTxn(conn, spec, { maxTxnOps: 1000 }), isError('tooManyOps', /--max-txn-ops/));
    const count = await conn.call('count', (c) =>
      c.kv.range({ key: b('/many/'), range_end: b('/many0'), count_only: true }),
    );
    assert.equal(count.count, '0', 'nothing was written');
    // 128 goes through.
    const ok = await runTxn(conn, { ...spec, success: spec.success.slice(0, 128) });
    assert.equal(ok.responses.length, 128);
  });

  it('read-only connection: a writing Txn is refused (nothing sent), a Txn of gets and a dry run are allowed', async () => {
    const ro = connect({ readOnly: true });
    await put('/ro/k', 'v');
    let calls = 0;
    const sub = ro.onDidCall(() => calls++);
    const writing = specOf(
      'compare:\n  - { key: /ro/k, target: version, op: ">", value: 0 }\nsuccess:\n  - get: { key: /ro/k }\nfailure:\n  - delete: { key: /ro/k }\n',
    );
    await assert.rejects(runTxn(ro, writing), isError('readOnly', /read-only/));
    assert.equal(calls, 0);
    sub.dispose();
    assert.equal(await value('/ro/k'), 'v');
    const reads = await runTxn(
      ro,
      specOf('compare:\n  - { key: /ro/k, target: version, op: ">", value: 0 }\nsuccess:\n  - get: { key: /ro/k }\n'),
    );
    assert.equal(reads.responses[0].kvs![0].value, 'v');
    const dry = await dryRunTxn(ro, writing);
    assert.equal(dry.branch, 'success');
  });

  it('a namespace profile keeps keys relative, and a whole-namespace delete stays inside the namespace', async () => {
    const ns = connect({ namespace: '/tenant/' });
    await put('/tenant/x', 'in');
    await put('/outside', 'out');
    const result = await runTxn(
      ns,
      specOf(`compare:
  - { key: x, target: value, op: "==", value: in }
success:
  - put: { key: y, value: new }
  - get: { key: "", prefix: true }
failure: []
`),
    );
    assert.equal(result.branch, 'success');
    assert.deepEqual(
      result.responses[1].kvs!.map((kv) => kv.key),
      ['x', 'y'],
    );
    assert.equal(await value('/tenant/y'), 'new', 'written under the namespace');
    assert.equal(await readValue(conn, b('y')), undefined);

    const dry = await dryRunTxn(
      ns,
      specOf('compare:\n  - { key: y, target: value, op: "==", value: new }\nsuccess:\n  - get: { key: y }\n'),
    );
    assert.equal(dry.compares[0].key, 'y');
    assert.equal(dry.compares[0].holds, true);

    const wipe = await runTxn(
      ns,
      specOf(
        `compare:\n  - { key: x, target: version, op: ">", value: 0 }\nsuccess:\n  - delete: { key: "", rangeEnd: '\\x00', prevKv: true }\n`,
      ),
    );
    assert.deepEqual(
      wipe.responses[0].prevKvs!.map((kv) => kv.key),
      ['x', 'y'],
    );
    assert.equal(await value('/outside'), 'out', 'keys outside the namespace survive');

    // Inside a namespace the open end becomes a real bound, so etcd's duplicate-key check applies.
    await assert.rejects(
      runTxn(ns, {
        compare: [],
        success: [
          { kind: 'delete', key: b('m'), rangeEnd: Buffer.from([0]) },
          { kind: 'put', key: b('z'), value: b('1') },
        ],
        failure: [],
      }),
      isError('invalid', /same key twice.*duplicate key given in txn request.*Nothing was written/),
    );
  });

  it('binary keys and values round trip through a document and the results', async () => {
    const key = Buffer.concat([b('/bin/'), Buffer.from([0xff, 0x00, 0x5c, 0x80])]);
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const text = txnDocumentFromRecords([{ key, value: bytes, modRevision: '0', lease: '0' }]);
    const result = await runTxn(conn, specOf(text));
    assert.equal(result.branch, 'success', 'create_revision == 0 held for the absent key');
    const stored = await conn.call('read', (c) => c.kv.range({ key }));
    assert.deepEqual(stored.kvs[0].key, key);
    assert.deepEqual(stored.kvs[0].value, bytes);
    const again = await runTxn(conn, specOf(text));
    assert.equal(again.branch, 'failure', 'the key exists now');
    const kv = again.responses[0].kvs![0];
    assert.equal(kv.key, '/bin/\\xff\\x00\\\\\\x80');
    assert.equal(kv.valueEncoding, 'base64');
    assert.deepEqual(Buffer.from(kv.value!, 'base64'), bytes);
    const record = (await readValue(conn, key))!;
    const cas = await runTxn(conn, specOf(txnDocumentFromRecords([record])));
    assert.equal(cas.branch, 'success', 'a document from the current record compare-and-swaps it');
  });

  it('a missing lease is reported as such and writes nothing', async () => {
    await assert.rejects(
      runTxn(
        conn,
        specOf(
          'compare:\n  - { key: /lease/k, target: create_revision, op: "==", value: 0 }\nsuccess:\n  - put: { key: /lease/k, value: x, lease: 1234abcd }\n',
        ),
      ),
      isError('invalid', /lease 0*1234abcd does not exist/),
    );
    assert.equal(await readValue(conn, b('/lease/k')), undefined);
  });
});
