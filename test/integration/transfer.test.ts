import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BulkCheckpoint } from '../../src/etcd/batchRunner';
import { bulkPut, renderBulkReport } from '../../src/etcd/bulk';
import { EtcdConnection } from '../../src/etcd/connection';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { prefixEnd } from '../../src/etcd/keyCodec';
import { silentLogger } from '../../src/etcd/logger';
import { exportPrefix, importExport, manifestPath, verifyExport } from '../../src/etcd/transfer';
import { EtcdCluster, registerCleanup } from '../rig/etcd';

registerCleanup();

const b = (s: string) => Buffer.from(s);

describe('export and import (real etcd)', function () {
  this.timeout(120_000);
  let source: EtcdCluster;
  let target: EtcdCluster;
  let src: EtcdConnection;
  let dst: EtcdConnection;
  let dir: string;

  const connect = (cluster: EtcdCluster, extra: { readOnly?: boolean } = {}) =>
    new EtcdConnection(
      { id: 'x', name: 'x', endpoints: cluster.endpoints, timeoutMs: 5000, ...extra },
      {},
      silentLogger,
    );

  async function range(c: EtcdConnection, prefix: string) {
    const p = b(prefix);
    const res = await c.call('scan', (cl) => cl.kv.range({ key: p, range_end: prefixEnd(p) }));
    return res.kvs;
  }

  /** Keys and values exactly as bytes, for a byte-exact comparison of two ranges. */
  const bytesOf = (kvs: { key: Buffer; value: Buffer }[]) =>
    kvs.map((kv) => [kv.key.toString('hex'), kv.value.toString('hex')]);

  const binaryKey = Buffer.concat([b('/t/bin/'), Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a])]);
  const binaryValue = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xc3, 0x28]);

  before(async () => {
    [source, target] = await Promise.all([EtcdCluster.start(), EtcdCluster.start()]);
    src = connect(source);
    dst = connect(target);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-transfer-'));
    const lease = await src.call('grant', (c) => c.leaseClient.leaseGrant({ TTL: 600, ID: '0' }));
    await bulkPut(src, [
      ...Array.from({ length: 40 }, (_, i) => ({ key: b(`/t/text/${i}`), value: b(`välue ${i} — ✓\n"quoted"\\`) })),
      { key: binaryKey, value: binaryValue },
      { key: b('/t/empty'), value: Buffer.alloc(0) },
      { key: b('/t/leased'), value: b('on a lease'), lease: lease.ID },
      { key: b('/outside'), value: b('not exported') },
    ]);
  });
  after(async () => {
    await src?.close();
    await dst?.close();
    await Promise.all([source?.stop(), target?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('export → import into a fresh cluster is byte-exact, binary keys and values included', async () => {
    const file = path.join(dir, 'full.ndjson');
    let pages = 0;
    // Pages of 3: the 43 keys are more than 8 pages, so the span splitting runs too.
    const manifest = await exportPrefix(src, b('/t/'), file, { pageSize: 3, onProgress: () => pages++ });
    assert.equal(manifest.keys, 43);
    assert.ok(pages >= 15, `read in ${pages} pages of at most 3`);
    assert.equal(manifest.bytes, fs.statSync(file).size);
    assert.ok(!fs.existsSync(`${file}.partial`));
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(lines[0]);
    assert.equal(header.etcdExport, 1);
    assert.equal(header.revision, manifest.revision);
    const records = lines.slice(1).map((l) => JSON.parse(l));
    assert.ok(records.every((r) => BigInt(r.modRevision) <= BigInt(manifest.revision)));
    const bin = records.find((r) => r.keyEncoding === 'base64');
    assert.equal(Buffer.from(bin.key, 'base64').toString('hex'), binaryKey.toString('hex'));
    assert.equal(bin.valueEncoding, 'base64');
    assert.match(records.find((r) => r.key === '/t/leased').lease, /^[0-9a-f]+$/, 'lease ids in hex');
    assert.equal(records.find((r) => r.key === '/t/empty').lease, undefined);

    const result = await importExport(dst, file, { mode: 'skip', maxTxnOps: 16 });
    assert.ok(result.complete, result.error);
    assert.equal(result.written, 43);
    assert.equal(result.batches.length, 3);
    const [a, c] = [await range(src, '/t/'), await range(dst, '/t/')];
    assert.deepEqual(bytesOf(c), bytesOf(a));
    assert.ok(
      c.every((kv) => kv.lease === '0'),
      'leases dropped by default',
    );
    assert.match(
      renderBulkReport(result, 'Import'),
      /Leases were not imported \(they belong to the source cluster\): 1 keys had one/,
    );
    assert.equal((await range(dst, '/outside')).length, 0);
  });

  it('exports values of 1 MiB: pages stay under the client receive limit (64 MiB), every key once', async () => {
    const big = (i: number) => Buffer.alloc(1024 * 1024, 0x41 + (i % 26));
    // 80 MiB: a first page of more than 64 of these would be refused by the client.
    await bulkPut(
      src,
      Array.from({ length: 80 }, (_, i) => ({ key: b(`/big/${String(i).padStart(2, '0')}`), value: big(i) })),
      // One put per Txn: the server takes requests up to 1.5 MiB.
      { maxTxnOps: 1 },
    );
    try {
      const file = path.join(dir, 'big.ndjson');
      const manifest = await exportPrefix(src, b('/big/'), file);
      assert.equal(manifest.keys, 80);
      await verifyExport(file);
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(1);
      lines.forEach((l, i) => assert.ok(JSON.parse(l).value === big(i).toString('utf8'), `value ${i}`));
    } finally {
      fs.rmSync(path.join(dir, 'big.ndjson'), { force: true });
      await src.write('clean', (c) => c.delete().prefix('/big/').exec());
    }
  });

  it('a cancelled export leaves no file behind', async () => {
    const file = path.join(dir, 'cancelled.ndjson');
    const abort = new AbortController();
    await assert.rejects(
      exportPrefix(src, b('/t/'), file, { pageSize: 5, signal: abort.signal, onProgress: () => abort.abort() }),
      (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'cancelled',
    );
    assert.ok(!fs.existsSync(file) && !fs.existsSync(`${file}.partial`) && !fs.existsSync(manifestPath(file)));
  });

  it('a corrupted export is refused by its checksum and writes nothing', async () => {
    const file = path.join(dir, 'flip.ndjson');
    await exportPrefix(src, b('/t/'), file);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const fresh = await EtcdCluster.start();
    const c = connect(fresh);
    try {
      await assert.rejects(
        importExport(c, file, { mode: 'overwrite' }),
        (err: unknown) =>
          err instanceof EtcdExplorerError && err.kind === 'invalid' && /does not match its checksum/.test(err.message),
      );
      await assert.rejects(verifyExport(file), /does not match its checksum/);
      assert.equal((await range(c, '/')).length, 0, 'nothing written');
      fs.rmSync(manifestPath(file));
      await assert.rejects(importExport(c, file, { mode: 'overwrite' }), /has no checksum manifest/);
    } finally {
      await c.close();
      await fresh.stop();
    }
  });

  it('import modes on existing keys: skip, overwrite, ifUnchanged (CAS on the exported mod revision)', async () => {
    await bulkPut(
      src,
      ['a', 'b', 'c', 'd'].map((k) => ({ key: b(`/m/${k}`), value: b(`v-${k}`) })),
    );
    const file = path.join(dir, 'modes.ndjson');
    await exportPrefix(src, b('/m/'), file);
    // Since the export: a changed, b deleted, c and d untouched.
    await src.write('put', (c) => c.put('/m/a').value('changed').exec());
    await src.write('del', (c) => c.delete().key('/m/b').exec());
    const state = async () =>
      Object.fromEntries((await range(src, '/m/')).map((kv) => [kv.key.toString(), `${kv.value}@${kv.version}`]));

    const cas = await importExport(src, file, { mode: 'ifUnchanged' });
    assert.deepEqual([cas.written, cas.skipped, cas.conflicts], [3, 0, 1]);
    assert.deepEqual(await state(), { '/m/a': 'changed@2', '/m/b': 'v-b@1', '/m/c': 'v-c@2', '/m/d': 'v-d@2' });

    const skip = await importExport(src, file, { mode: 'skip' });
    assert.deepEqual([skip.written, skip.skipped, skip.conflicts], [0, 4, 0]);
    assert.equal(skip.batches[0].status, 'skipped');
    assert.deepEqual(await state(), { '/m/a': 'changed@2', '/m/b': 'v-b@1', '/m/c': 'v-c@2', '/m/d': 'v-d@2' });

    const over = await importExport(src, file, { mode: 'overwrite' });
    assert.equal(over.written, 4);
    assert.deepEqual(await state(), { '/m/a': 'v-a@3', '/m/b': 'v-b@2', '/m/c': 'v-c@3', '/m/d': 'v-d@3' });
  });

  it('an import cancelled midway and resumed lands every key once', async () => {
    await bulkPut(
      src,
      Array.from({ length: 600 }, (_, i) => ({ key: b(`/r/${String(i).padStart(4, '0')}`), value: b(`r${i}`) })),
    );
    const file = path.join(dir, 'resume.ndjson');
    await exportPrefix(src, b('/r/'), file);
    const abort = new AbortController();
    let saved: BulkCheckpoint | undefined;
    let progress = 0;
    const first = await importExport(dst, file, {
      mode: 'skip',
      maxTxnOps: 50,
      concurrency: 2,
      signal: abort.signal,
      onCheckpoint: (c) => (saved = c),
      onProgress: (k) => (progress = k),
      onBatch: (_x, done) => done === 3 && abort.abort(),
    });
    assert.ok(first.cancelled);
    assert.equal(progress, first.written);
    assert.ok((await range(dst, '/r/')).length < 600);
    const second = await importExport(dst, file, { mode: 'skip', maxTxnOps: 50, checkpoint: saved });
    assert.ok(second.complete, second.error);
    const kvs = await range(dst, '/r/');
    assert.equal(kvs.length, 600);
    assert.ok(kvs.every((kv) => kv.version === '1'));
    await assert.rejects(
      importExport(dst, file, { mode: 'overwrite', maxTxnOps: 50, checkpoint: saved }),
      /checkpoint does not belong/,
    );
  });

  it('atomic import refuses an export larger than one Txn; read-only refuses up front', async () => {
    const file = path.join(dir, 'atomic.ndjson');
    await exportPrefix(src, b('/t/'), file);
    await assert.rejects(
      importExport(dst, file, { mode: 'overwrite', atomic: true, maxTxnOps: 10 }),
      (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'tooManyOps',
    );
    const ro = connect(target, { readOnly: true });
    try {
      await assert.rejects(
        importExport(ro, file, { mode: 'overwrite' }),
        (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'readOnly',
      );
    } finally {
      await ro.close();
    }
  });
});
