import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  BulkResult,
  RunnerBatch,
  chunk,
  checkCheckpoint,
  fingerprintItems,
  runBatches,
} from '../../src/etcd/batchRunner';
import { planBatch, renderBulkReport } from '../../src/etcd/bulk';
import { BulkItem, dedupeItems, normalizeDeleteTargets, parseBulkInput } from '../../src/etcd/bulkInput';
import { EtcdExplorerError } from '../../src/etcd/errors';

const b = (s: string) => Buffer.from(s);
const texts = (items: { key: Buffer; value: Buffer }[]) => items.map((i) => [i.key.toString(), i.value.toString()]);

function throwsInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'invalid' && pattern.test(err.message),
  );
}

describe('bulk input parsing', () => {
  it('reads a JSON object of key → value, with base64 values and hex leases', () => {
    const items = parseBulkInput(
      '{"/a": "1", "/b": {"valueBase64": "AP8="}, "/c": {"value": "x", "lease": "694d7b2c0a1f2e03"}}',
      'json',
    );
    assert.deepEqual(
      items.map((i) => i.key.toString()),
      ['/a', '/b', '/c'],
    );
    assert.equal(items[0].value.toString(), '1');
    assert.deepEqual([...items[1].value], [0, 255]);
    assert.equal(items[2].lease, BigInt('0x694d7b2c0a1f2e03').toString());
  });

  it('reads a JSON array with binary keys and export records', () => {
    const items = parseBulkInput(
      JSON.stringify([
        { keyBase64: Buffer.from([1, 0xfe]).toString('base64'), value: 'v' },
        {
          key: '/x',
          keyEncoding: 'utf8',
          value: 'AAE=',
          valueEncoding: 'base64',
          createRevision: '3',
          modRevision: '7',
          version: '2',
        },
      ]),
      'json',
    );
    assert.deepEqual([...items[0].key], [1, 0xfe]);
    assert.deepEqual([...items[1].value], [0, 1]);
    assert.equal(items[1].modRevision, '7');
  });

  it('names the JSON entry or position that is wrong', () => {
    throwsInvalid(
      () => parseBulkInput('[{"key": "/a", "value": "1"}, {"key": "/b"}]', 'json'),
      /entry 2: "value" or "valueBase64" is required/,
    );
    throwsInvalid(() => parseBulkInput('[{"key": "/a", "vaule": "1"}]', 'json'), /entry 1: unknown field "vaule"/);
    throwsInvalid(
      () => parseBulkInput('{"/a": {"value": "x", "lease": "zz"}}', 'json'),
      /entry "\/a": "zz" is not a lease id/,
    );
    throwsInvalid(() => parseBulkInput('{\n"a": 1,\n}', 'json'), /not valid at line 3/);
    throwsInvalid(
      () => parseBulkInput('[{"keyBase64": "***", "value": "1"}]', 'json'),
      /"keyBase64" is not valid base64/,
    );
    throwsInvalid(() => parseBulkInput('[{"key": "", "value": "1"}]', 'json'), /the key is empty/);
    throwsInvalid(() => parseBulkInput('"just text"', 'json'), /must be an object/);
  });

  it('reads YAML mappings and sequences, scalars as their text, and names the line of a bad entry', () => {
    const map = parseBulkInput('/app/port: 8080\n/app/name: web\n/app/bin:\n  valueBase64: AAE=\n', 'yaml');
    assert.deepEqual(texts(map.slice(0, 2)), [
      ['/app/port', '8080'],
      ['/app/name', 'web'],
    ]);
    assert.deepEqual([...map[2].value], [0, 1]);
    const seq = parseBulkInput('- key: /a\n  value: one\n- key: /b\n  value: two\n', 'yaml');
    assert.deepEqual(texts(seq), [
      ['/a', 'one'],
      ['/b', 'two'],
    ]);
    throwsInvalid(
      () => parseBulkInput('- key: /a\n  value: one\n- key: /b\n', 'yaml'),
      /line 3 \(entry 2\): "value" or "valueBase64" is required/,
    );
    throwsInvalid(
      () => parseBulkInput('/a: x\n/b:\n  valu: y\n', 'yaml'),
      /line 2 \(key "\/b"\): unknown field "valu"/,
    );
    throwsInvalid(() => parseBulkInput('a: [1\nb: 2\n', 'yaml'), /YAML input is not valid at line \d+/);
    throwsInvalid(() => parseBulkInput('/a: x\n/a: y\n', 'yaml'), /not valid at line 2/);
  });

  it('reads NDJSON line by line, skipping blank lines and an export header, naming the bad line', () => {
    const text =
      '{"etcdExport":1,"prefix":"/","revision":"5","exportedAt":"x"}\n{"key":"/a","value":"1"}\n\n{"key":"/b","value":"2"}\n';
    assert.deepEqual(texts(parseBulkInput(text, 'ndjson')), [
      ['/a', '1'],
      ['/b', '2'],
    ]);
    throwsInvalid(
      () => parseBulkInput('{"key":"/a","value":"1"}\n{"key":"/b",\n', 'ndjson'),
      /^line 2: not valid JSON/,
    );
    throwsInvalid(() => parseBulkInput('{"key":"/a","value":"1"}\n[1]\n', 'ndjson'), /^line 2: expected an object/);
    throwsInvalid(
      () => parseBulkInput('{"key":"/a","value":"1","valueEncoding":"hex"}', 'ndjson'),
      /line 1: "valueEncoding" must be/,
    );
  });
});

describe('bulk batching', () => {
  it('drops repeated keys, the last value winning at the first position', () => {
    const { items, duplicates } = dedupeItems([
      { key: b('/a'), value: b('1') },
      { key: b('/b'), value: b('2') },
      { key: b('/a'), value: b('3') },
    ]);
    assert.equal(duplicates, 1);
    assert.deepEqual(texts(items), [
      ['/a', '3'],
      ['/b', '2'],
    ]);
  });

  it('splits into batches of at most max-txn-ops', () => {
    const sizes = chunk(
      Array.from({ length: 1000 }, (_, i) => i),
      128,
    ).map((c) => c.length);
    assert.deepEqual(sizes, [128, 128, 128, 128, 128, 128, 128, 104]);
    assert.deepEqual(chunk([], 128), []);
  });

  it('drops delete targets covered by a prefix target, and repeats', () => {
    const out = normalizeDeleteTargets([
      { key: b('/a/x') },
      { key: b('/a/'), prefix: true },
      { key: b('/b') },
      { key: b('/b') },
      { key: b('/a/y/'), prefix: true },
      { key: b('/ab') },
    ]);
    assert.deepEqual(
      out.map((t) => `${t.key}${t.prefix ? '*' : ''}`),
      ['/a/*', '/ab', '/b'],
    );
    throwsInvalid(() => normalizeDeleteTargets([{ key: b('') }]), /key is empty/);
  });

  it('plans each key by mode from what the key looked like', () => {
    const items = [
      { key: b('/new'), value: b('1') },
      { key: b('/same'), value: b('2'), modRevision: '7' },
      { key: b('/moved'), value: b('3'), modRevision: '7' },
    ];
    const observed = ['0', '7', '9'];
    assert.deepEqual(planBatch('overwrite', items, observed), ['write', 'write', 'write']);
    assert.deepEqual(planBatch('skip', items, observed), ['write', 'skip', 'skip']);
    assert.deepEqual(planBatch('ifUnchanged', items, observed), ['write', 'write', 'conflict']);
  });

  it('fingerprints each part framed by its length: sha256(extra, len key, key, len value, value, len lease, lease, len rev, rev …)', () => {
    const big = Buffer.alloc(100_000, 7); // larger than the hashing buffer
    const input: BulkItem[] = [
      ...Array.from({ length: 2000 }, (_, i) => ({ key: b(`/k/${i}`), value: b(`v${i}`) })),
      { key: b('/big'), value: big, lease: '1a2b', modRevision: '42' },
      { key: b('/ü'), value: Buffer.alloc(0), modRevision: 'ä' },
    ];
    const parts: Buffer[] = [b('put:x')];
    const framed = (part: Buffer) => [
      Buffer.from([0, 0, 0, 0].map((_, i) => (part.length >>> (24 - 8 * i)) & 0xff)),
      part,
    ];
    for (const i of input)
      parts.push(...framed(i.key), ...framed(i.value), ...framed(b(i.lease ?? '0')), ...framed(b(i.modRevision ?? '')));
    const expected = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    assert.equal(fingerprintItems(input, 'put:x'), expected);
  });

  it('refuses a checkpoint from another run', () => {
    const fp = fingerprintItems([{ key: b('/a'), value: b('1') }]);
    const cp = {
      version: 1 as const,
      kind: 'put:overwrite',
      total: 1,
      batchSize: 128,
      committed: [{ index: 0, revision: '5' }],
      unknown: [],
      fingerprint: fp,
    };
    assert.equal(
      checkCheckpoint(cp, { kind: 'put:overwrite', total: 1, batchSize: 128, fingerprint: fp }).committed.get(0),
      '5',
    );
    throwsInvalid(() => checkCheckpoint(cp, { kind: 'put:skip', total: 1, batchSize: 128, fingerprint: fp }), /kind/);
    throwsInvalid(
      () => checkCheckpoint(cp, { kind: 'put:overwrite', total: 1, batchSize: 64, fingerprint: fp }),
      /batch size/,
    );
    const other = fingerprintItems([{ key: b('/a'), value: b('2') }]);
    throwsInvalid(
      () => checkCheckpoint(cp, { kind: 'put:overwrite', total: 1, batchSize: 128, fingerprint: other }),
      /input data/,
    );
  });
});

describe('batch runner', () => {
  function fake(
    count: number,
    behave: (i: number) => Promise<'ok' | 'lost' | 'refused'>,
  ): { batches: RunnerBatch[]; maxInFlight: () => number } {
    let inFlight = 0;
    let max = 0;
    const batches = Array.from({ length: count }, (_, index): RunnerBatch => ({
      index,
      firstKey: `k${index}a`,
      lastKey: `k${index}z`,
      ops: 10,
      async exec() {
        inFlight++;
        max = Math.max(max, inFlight);
        try {
          const r = await behave(index);
          if (r === 'lost') throw new EtcdExplorerError('unreachable', 'gone');
          if (r === 'refused') throw new EtcdExplorerError('permission', 'denied');
          return {
            index,
            firstKey: `k${index}a`,
            lastKey: `k${index}z`,
            ops: 10,
            status: 'committed',
            revision: String(100 + index),
            written: 10,
          };
        } finally {
          inFlight--;
        }
      },
    }));
    return { batches, maxInFlight: () => max };
  }
  const setup = (count: number, options = {}) => ({
    kind: 'test',
    total: count * 10,
    batchSize: 10,
    batchCount: count,
    fingerprint: 'f',
    knownRevision: '1',
    options,
  });
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('bounds concurrency and reports batches in order', async () => {
    const f = fake(20, async (i) => {
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      return 'ok';
    });
    const result = await runBatches(f.batches, setup(20, { concurrency: 3 }));
    assert.equal(f.maxInFlight(), 3);
    assert.deepEqual(
      result.batches.map((x) => x.index),
      [...Array(20).keys()],
    );
    assert.ok(result.complete);
    assert.equal(result.written, 200);
    assert.equal(result.checkpoint.committed.length, 20);
  });

  it('stops at a lost answer: the batch is unknown in the checkpoint, later ones not sent', async () => {
    const f = fake(10, async (i) => {
      await tick();
      return i === 3 ? 'lost' : 'ok';
    });
    const result = await runBatches(f.batches, setup(10, { concurrency: 2 }));
    assert.equal(result.complete, false);
    assert.deepEqual(result.checkpoint.unknown, [3]);
    assert.equal(result.batches[3].status, 'failed');
    assert.ok(result.batches[3].outcomeUnknown);
    assert.ok(result.batches.slice(5).every((x) => x.status === 'notSent'));
    assert.match(renderBulkReport(result, 'Import'), /Outcome unknown \(sent, no answer\): batches 4\./);
  });

  it('a refused batch is known not to have committed', async () => {
    const result = await runBatches(
      fake(3, async (i) => (i === 1 ? 'refused' : 'ok')).batches,
      setup(3, { concurrency: 1 }),
    );
    assert.deepEqual(result.checkpoint.unknown, []);
    assert.equal(result.batches[1].status, 'failed');
    assert.equal(result.batches[2].status, 'notSent');
  });

  it('cancel sends nothing more and reports the batches in flight as they ended', async () => {
    const abort = new AbortController();
    const result: BulkResult = await runBatches(
      fake(10, async (i) => {
        if (i === 2) abort.abort();
        await tick();
        return 'ok';
      }).batches,
      setup(10, { concurrency: 2, signal: abort.signal }),
    );
    assert.ok(result.cancelled);
    assert.deepEqual(result.batches.map((x) => x.status).slice(0, 4), [
      'committed',
      'committed',
      'committed',
      'notSent',
    ]);
    assert.deepEqual(result.checkpoint.unknown, []);
  });

  it('resumes: committed batches are not sent again, unknown ones are sent as such', async () => {
    const sent: Array<[number, boolean]> = [];
    const batches = fake(4, async () => 'ok').batches.map((x) => ({
      ...x,
      exec: (u: boolean) => (sent.push([x.index, u]), x.exec(u)),
    }));
    const checkpoint = {
      version: 1 as const,
      kind: 'test',
      total: 40,
      batchSize: 10,
      committed: [{ index: 0, revision: '9' }],
      unknown: [2],
      fingerprint: 'f',
    };
    const result = await runBatches(batches, setup(4, { checkpoint }));
    assert.deepEqual(sent, [
      [1, false],
      [2, true],
      [3, false],
    ]);
    assert.ok(result.complete);
    assert.ok(result.batches[0].earlierRun);
    assert.match(renderBulkReport(result, 'Put'), /committed \(earlier run\)/);
  });
});
