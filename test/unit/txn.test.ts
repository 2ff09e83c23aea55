import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { DEFAULT_MAX_TXN_OPS, DryRunResult, TxnResult, TxnSpec, validateTxnSpec } from '../../src/etcd/txn';
import { TxnFormat, parseTxnDocument } from '../../src/etcd/txn/txnDocument';
import { renderTxnResult, txnDocumentFromRecords, txnDocumentFromSpec } from '../../src/etcd/txn/txnRender';

const b = (s: string) => Buffer.from(s);

const EXAMPLE_YAML = `# Runs atomically: if every compare holds, \`success\` runs, else \`failure\`.
compare:
  - key: /config/feature-x
    target: mod_revision
    op: "=="
    value: 42
  - keyBase64: AAEC
    target: value
    op: "=="
    valueBase64: aGk=
success:
  - put: { key: /config/feature-x, value: "on", lease: 694d7a1c2b3f0a11 }
  - get: { key: /config/, prefix: true }
  - delete: { key: /old/, prefix: true }
failure:
  - get: { key: /config/feature-x }
`;

const EXAMPLE_JSON = JSON.stringify(
  {
    compare: [
      { key: '/config/feature-x', target: 'mod_revision', op: '==', value: 42 },
      { keyBase64: 'AAEC', target: 'value', op: '==', valueBase64: 'aGk=' },
    ],
    success: [
      { put: { key: '/config/feature-x', value: 'on', lease: '694d7a1c2b3f0a11' } },
      { get: { key: '/config/', prefix: true } },
      { delete: { key: '/old/', prefix: true } },
    ],
    failure: [{ get: { key: '/config/feature-x' } }],
  },
  null,
  2,
);

const EXAMPLE_SPEC: TxnSpec = {
  compare: [
    { key: b('/config/feature-x'), target: 'mod_revision', op: '==', value: '42' },
    { key: Buffer.from([0, 1, 2]), target: 'value', op: '==', value: b('hi') },
  ],
  success: [
    { kind: 'put', key: b('/config/feature-x'), value: b('on'), lease: BigInt('0x694d7a1c2b3f0a11').toString() },
    { kind: 'get', key: b('/config/'), rangeEnd: b('/config0') },
    { kind: 'delete', key: b('/old/'), rangeEnd: b('/old0') },
  ],
  failure: [{ kind: 'get', key: b('/config/feature-x') }],
};

interface Seen {
  readonly severity: 'error' | 'warning';
  readonly covered: string;
  readonly message: string;
}

function diagnose(text: string, format: TxnFormat = 'yaml', maxTxnOps?: number): Seen[] {
  return parseTxnDocument(text, format, { maxTxnOps }).diagnostics.map((d) => ({
    severity: d.severity,
    covered: text.slice(d.start, d.end),
    message: d.message,
  }));
}

/** Asserts exactly one diagnostic: it covers `covered` and says `message`; the spec is withheld for errors. */
function expectOnly(
  text: string,
  covered: string,
  message: RegExp,
  severity: 'error' | 'warning' = 'error',
  format: TxnFormat = 'yaml',
): void {
  const seen = diagnose(text, format);
  assert.equal(seen.length, 1, `one diagnostic expected, got ${JSON.stringify(seen, null, 1)}`);
  assert.equal(seen[0].severity, severity);
  assert.equal(seen[0].covered, covered);
  assert.match(seen[0].message, message);
  assert.equal(parseTxnDocument(text, format).spec === undefined, severity === 'error');
}

/** A guarded document around one branch of operations, so only the ops under test can produce diagnostics. */
const guarded = (ops: string) => `compare:\n  - { key: /guard, target: version, op: ">", value: 0 }\nsuccess:\n${ops}`;

describe('Txn documents', () => {
  describe('parsing', () => {
    it('parses the documented example (YAML) into the spec, with no diagnostics', () => {
      const parsed = parseTxnDocument(EXAMPLE_YAML, 'yaml');
      assert.deepEqual(parsed.diagnostics, []);
      assert.deepEqual(parsed.spec, EXAMPLE_SPEC);
    });

    it('parses the same document written as JSON into the same spec', () => {
      const parsed = parseTxnDocument(EXAMPLE_JSON, 'json');
      assert.deepEqual(parsed.diagnostics, []);
      assert.deepEqual(parsed.spec, EXAMPLE_SPEC);
    });

    it('reads every op option and keeps revisions past 2^53 exact', () => {
      const text = `compare:
  - { key: /a, target: create_revision, op: "<", value: 9007199254740993 }
  - { key: /a, target: version, op: "!=", value: "7" }
  - { key: /a, target: lease, op: ">", value: 0x1f }
  - { key: /a, target: value, op: "<", value: 007 }
success:
  - get: { key: /r/a, rangeEnd: /r/m, limit: 5, keysOnly: true }
  - get: { key: /r/, prefix: true, countOnly: true }
  - delete: { key: /d/a, rangeEnd: /d/z, prevKv: true }
  - put: { key: /p, valueBase64: AP8=, prevKv: true, lease: 0 }
failure:
  - delete: { key: /x }
`;
      const parsed = parseTxnDocument(text, 'yaml');
      assert.deepEqual(parsed.diagnostics, []);
      assert.deepEqual(parsed.spec, {
        compare: [
          { key: b('/a'), target: 'create_revision', op: '<', value: '9007199254740993' },
          { key: b('/a'), target: 'version', op: '!=', value: '7' },
          { key: b('/a'), target: 'lease', op: '>', value: '31' },
          { key: b('/a'), target: 'value', op: '<', value: b('007') },
        ],
        success: [
          { kind: 'get', key: b('/r/a'), rangeEnd: b('/r/m'), limit: 5, keysOnly: true },
          { kind: 'get', key: b('/r/'), rangeEnd: b('/r0'), countOnly: true },
          { kind: 'delete', key: b('/d/a'), rangeEnd: b('/d/z'), prevKv: true },
          { kind: 'put', key: b('/p'), value: Buffer.from([0, 255]), lease: '0', prevKv: true },
        ],
        failure: [{ kind: 'delete', key: b('/x') }],
      });
    });

    it('decodes \\xNN and \\\\ in keys, in plain, single-quoted and JSON strings', () => {
      const yaml = parseTxnDocument(
        guarded(`  - get: { key: /bin/\\xff\\x00 }\n  - get: { key: '/back\\\\slash' }\n`),
        'yaml',
      );
      assert.deepEqual(yaml.diagnostics, []);
      assert.deepEqual(yaml.spec!.success[0].key, Buffer.concat([b('/bin/'), Buffer.from([0xff, 0])]));
      assert.deepEqual(yaml.spec!.success[1].key, b('/back\\slash'));
      const json = parseTxnDocument(
        JSON.stringify({
          compare: [{ key: '/g', target: 'version', op: '>', value: 0 }],
          success: [{ get: { key: '/bin/\\xff' } }],
        }),
        'json',
      );
      assert.deepEqual(json.spec!.success[0].key, Buffer.concat([b('/bin/'), Buffer.from([0xff])]));
    });

    it('accepts a whole-keyspace prefix with an empty key, and "\\x00" as an open range end', () => {
      const parsed = parseTxnDocument(
        guarded(`  - get: { key: "", prefix: true }\n  - get: { key: /m, rangeEnd: '\\x00' }\n`),
        'yaml',
      );
      assert.deepEqual(parsed.diagnostics, []);
      assert.deepEqual(parsed.spec!.success, [
        { kind: 'get', key: Buffer.alloc(0), rangeEnd: Buffer.from([0]) },
        { kind: 'get', key: b('/m'), rangeEnd: Buffer.from([0]) },
      ]);
    });
  });

  describe('diagnostics, each with its exact range', () => {
    it('YAML syntax error', () => {
      const text = 'compare:\n  - key: /a\n   target: value\n';
      const parsed = parseTxnDocument(text, 'yaml');
      assert.equal(parsed.diagnostics.length, 1);
      assert.equal(parsed.diagnostics[0].severity, 'error');
      assert.equal(parsed.diagnostics[0].start, text.indexOf('target'), 'at the misindented line');
      assert.equal(text.slice(parsed.diagnostics[0].start, parsed.diagnostics[0].end), 'target:');
      assert.equal(parsed.spec, undefined);
      const unclosed = 'success: [ { get: { key: /a } }\n';
      const seen = diagnose(unclosed);
      assert.ok(seen.length >= 1 && seen.every((d) => d.severity === 'error'));
    });

    it('JSON syntax error at the offending character (trailing comma, which YAML would accept)', () => {
      const text = '{\n  "success": [\n    { "get": { "key": "/a" } },\n  ]\n}';
      const seen = diagnose(text, 'json');
      assert.equal(seen.length, 1);
      assert.equal(seen[0].covered, ']');
      assert.match(seen[0].message, /JSON syntax error/);
    });

    it('JSON syntax errors: each at its character, with the reason', () => {
      const cases: Array<[string, string, RegExp]> = [
        ['{"compare": [], "success": [}', '}', /unexpected "}"/],
        ['{"compare" []}', '[', /expected ":"/],
        ["{'compare': []}", "'", /expected a double-quoted string/],
        ['{"compare": [], "x": tru}', 't', /unexpected "t"/],
        ['{"success": [{"get": {"key": "/a\\q"}}]}', '\\', /invalid escape/],
        ['{"success": []} {}', '{', /after the end/],
        ['{"success": [', '', /unexpected end/],
        ['{"a": 1,}', '}', /trailing comma/],
      ];
      for (const [text, covered, message] of cases) {
        const seen = diagnose(text, 'json');
        assert.equal(seen.length, 1, text);
        assert.equal(seen[0].covered, covered, text);
        assert.match(seen[0].message, message, text);
      }
    });

    it('JSON documents: ranges cover the quoted names and values', () => {
      const doc = (success: unknown[], compare: unknown[] = [{ key: '/g', target: 'version', op: '>', value: 0 }]) =>
        JSON.stringify({ compare, success }, null, 2);
      expectOnly(
        doc([{ putt: { key: '/a', value: 'x' } }]),
        '"putt"',
        /Unknown operation "putt" \(did you mean "put"\?\)/,
        'error',
        'json',
      );
      expectOnly(doc([{ get: { key: '/a', limt: 1 } }]), '"limt"', /did you mean "limit"/, 'error', 'json');
      expectOnly(
        doc([], [{ key: '/a', target: 'mod_revision', op: '==', value: -1 }]),
        '-1',
        /non-negative integer/,
        'error',
        'json',
      );
      expectOnly(doc([{ put: { key: '/a', value: 'x', lease: 'xyz' } }]), '"xyz"', /not a lease id/, 'error', 'json');
      expectOnly(doc([{ get: { keyBase64: 'A=B' } }]), '"A=B"', /not valid base64/, 'error', 'json');
      const dup = doc([{ put: { key: '/a', value: '1' } }, { delete: { key: '/a' } }]);
      expectOnly(dup, '"delete"', /also written by the put at line 12/, 'error', 'json');
    });

    it('JSON with a comment is an error, the same text as YAML is not', () => {
      const text =
        '{ "compare": [ { "key": "/a", "target": "version", "op": ">", "value": 0 } ], # note\n "success": [] }';
      assert.equal(diagnose(text, 'json')[0].covered, '#');
      assert.ok(!diagnose(text, 'yaml').some((d) => d.severity === 'error'));
    });

    it('empty document: nothing, only comments, or an empty mapping', () => {
      for (const text of ['', '   \n', '# a comment only\n', '{}']) {
        const seen = diagnose(text, text === '{}' ? 'json' : 'yaml');
        assert.equal(seen.length, 1, JSON.stringify(text));
        assert.match(seen[0].message, /empty/);
        assert.equal(seen[0].covered, text === '{}' ? '{}' : text);
      }
      assert.match(diagnose('', 'json')[0].message, /empty/);
    });

    it('a document that is not a mapping', () => {
      expectOnly('- put: { key: /a, value: x }\n', '- put: { key: /a, value: x }\n', /mapping with `compare`/);
    });

    it('unknown top-level field, with a suggestion', () => {
      expectOnly(
        guarded('  - get: { key: /a }\nsucess: []\n'),
        'sucess',
        /Unknown field "sucess".*did you mean "success"/,
      );
    });

    it('unknown op kind, with a suggestion ("putt" → put, "range" → get)', () => {
      expectOnly(
        guarded('  - putt: { key: /a, value: x }\n'),
        'putt',
        /Unknown operation "putt" \(did you mean "put"\?\)/,
      );
      expectOnly(guarded('  - range: { key: /a }\n'), 'range', /Unknown operation "range" \(did you mean "get"\?\)/);
      expectOnly(
        guarded('  - frobnicate: { key: /a }\n'),
        'frobnicate',
        /Unknown operation "frobnicate"\. Use put, get or delete/,
      );
    });

    it('unknown op field; a sort order is refused with the reason', () => {
      expectOnly(
        guarded('  - get: { key: /a, limt: 3 }\n'),
        'limt',
        /Unknown field "limt" in a get \(did you mean "limit"\?\)/,
      );
      expectOnly(guarded('  - get: { key: /a, sortOrder: ASCEND }\n'), 'sortOrder', /no sort order/);
    });

    it('two operations in one list item', () => {
      expectOnly(
        guarded('  - put: { key: /a, value: x }\n    get: { key: /a }\n'),
        'get',
        /One operation per list item/,
      );
    });

    it('an operation that is not a mapping', () => {
      expectOnly(guarded('  - get\n'), 'get', /An operation is a mapping/);
      expectOnly(guarded('  - get: /a\n'), '/a', /`get` takes a mapping/);
    });

    it('a branch that is not a list', () => {
      expectOnly('compare: []\nsuccess: 5\n', '5', /`success` is a list/);
    });

    it('missing key (op and compare)', () => {
      expectOnly(guarded('  - put: { value: x }\n'), 'put', /Missing `key`/);
      const text = 'compare:\n  - { target: version, op: ">", value: 0 }\nsuccess: []\n';
      expectOnly(text, '{ target: version, op: ">", value: 0 }', /Missing `key`/);
    });

    it('missing value of a put, and of a compare', () => {
      expectOnly(guarded('  - put: { key: /a }\n'), 'put', /Missing `value`/);
      expectOnly(
        'compare:\n  - { key: /a, target: mod_revision, op: "==" }\n',
        '{ key: /a, target: mod_revision, op: "==" }',
        /Missing `value`/,
      );
    });

    it('empty key outside a range', () => {
      expectOnly(guarded('  - put: { key: "", value: x }\n'), '""', /empty; etcd has no empty key/);
    });

    it('key and keyBase64 both', () => {
      expectOnly(guarded('  - get: { key: /a, keyBase64: AA== }\n'), 'keyBase64', /either `key` or `keyBase64`/);
    });

    it('prefix and rangeEnd both', () => {
      expectOnly(
        guarded('  - delete: { key: /a, prefix: true, rangeEnd: /b }\n'),
        'prefix',
        /either `prefix: true` or `rangeEnd`/,
      );
    });

    it('bad base64 (key, value, compare value)', () => {
      expectOnly(guarded('  - get: { keyBase64: "A=B" }\n'), '"A=B"', /not valid base64/);
      expectOnly(guarded('  - put: { key: /a, valueBase64: abc }\n'), 'abc', /not valid base64/);
      expectOnly(
        'compare:\n  - { key: /a, target: value, op: "==", valueBase64: "!!!!" }\n',
        '"!!!!"',
        /not valid base64/,
      );
    });

    it('bad \\x escape: the escape itself, in YAML and in JSON', () => {
      expectOnly(guarded('  - get: { key: /a/\\x4g/b }\n'), '\\x4', /Bad escape "\\x4"/);
      expectOnly(guarded("  - get: { key: '/a/\\q' }\n"), '\\q', /Bad escape "\\q"/);
      const json =
        '{"compare": [{"key": "/g", "target": "version", "op": ">", "value": 0}], "success": [{"get": {"key": "/ok\\\\x41/bad\\\\xZZ"}}]}';
      expectOnly(json, '\\\\x', /Bad escape "\\x"/, 'error', 'json');
    });

    it('bad target and bad op', () => {
      expectOnly('compare:\n  - { key: /a, target: mod, op: "==", value: 1 }\n', 'mod', /Unknown compare target "mod"/);
      expectOnly(
        'compare:\n  - { key: /a, target: modrevision, op: "==", value: 1 }\n',
        'modrevision',
        /did you mean "mod_revision"/,
      );
      expectOnly('compare:\n  - { key: /a, target: version, op: "=", value: 1 }\n', '"="', /Unknown compare op "="/);
      expectOnly(
        'compare:\n  - { key: /a, target: version, value: 1 }\n',
        '{ key: /a, target: version, value: 1 }',
        /Missing `op`/,
      );
    });

    it('value type not matching the target', () => {
      for (const [value, covered] of [
        ['-1', '-1'],
        ['1.5', '1.5'],
        ['abc', 'abc'],
        ['"12x"', '"12x"'],
        ['9223372036854775808', '9223372036854775808'],
      ]) {
        expectOnly(
          `compare:\n  - { key: /a, target: mod_revision, op: "==", value: ${value} }\n`,
          covered,
          /mod_revision must be a non-negative integer/,
        );
      }
      expectOnly(
        'compare:\n  - { key: /a, target: version, op: "==", value: [1] }\n',
        '[1]',
        /version must be a non-negative integer/,
      );
      expectOnly(
        'compare:\n  - { key: /a, target: version, op: "==", valueBase64: AA== }\n',
        'valueBase64',
        /only goes with target value/,
      );
      expectOnly(
        'compare:\n  - { key: /a, target: value, op: "==", value: { x: 1 } }\n',
        '{ x: 1 }',
        /`value` must be text/,
      );
      expectOnly(guarded('  - get: { key: /a, limit: -2 }\n'), '-2', /limit must be a non-negative integer/);
      expectOnly(guarded('  - get: { key: /a, prefix: yes }\n'), 'yes', /`prefix` is true or false/);
    });

    it('bad lease hex (put and compare)', () => {
      expectOnly(guarded('  - put: { key: /a, value: x, lease: xyz }\n'), 'xyz', /"xyz" is not a lease id/);
      expectOnly(
        guarded('  - put: { key: /a, value: x, lease: 1ffffffffffffffff }\n'),
        '1ffffffffffffffff',
        /not a lease id/,
      );
      expectOnly('compare:\n  - { key: /a, target: lease, op: "==", value: "g1" }\n', '"g1"', /not a lease id/);
    });

    it('129 operations in a branch: an error on that branch; 128 is fine', () => {
      const ops = (n: number) => Array.from({ length: n }, (_, i) => `  - get: { key: /k${i} }\n`).join('');
      expectOnly(guarded(ops(129)), 'success', /`success` has 129 operations; the server allows at most 128/);
      assert.deepEqual(diagnose(guarded(ops(128))), []);
      assert.equal(parseTxnDocument(guarded(ops(128)), 'yaml').spec!.success.length, 128);
      const failure = guarded('  - get: { key: /a }\n') + `failure:\n${ops(129)}`;
      expectOnly(failure, 'failure', /`failure` has 129 operations/);
    });

    it('129 operations in JSON, 129 compares, and a lower server limit', () => {
      const json = JSON.stringify({
        compare: [{ key: '/g', target: 'version', op: '>', value: 0 }],
        success: Array.from({ length: 129 }, (_, i) => ({ get: { key: `/k${i}` } })),
      });
      expectOnly(json, '"success"', /129 operations/, 'error', 'json');
      const compares = Array.from(
        { length: 129 },
        (_, i) => `  - { key: /k${i}, target: version, op: ">", value: 0 }\n`,
      ).join('');
      expectOnly(`compare:\n${compares}success:\n  - get: { key: /a }\n`, 'compare', /`compare` has 129 compares/);
      const four = guarded('  - get: { key: /a }\n  - get: { key: /b }\n  - get: { key: /c }\n  - get: { key: /d }\n');
      assert.equal(diagnose(four, 'yaml', 3)[0].covered, 'success');
      assert.deepEqual(diagnose(four, 'yaml', 4), []);
      assert.equal(DEFAULT_MAX_TXN_OPS, 128);
    });

    it('the same key put twice in one branch', () => {
      const text = guarded(
        '  - put: { key: /a, value: "1" }\n  - get: { key: /a }\n  - put: { key: /a, value: "2" }\n',
      );
      const seen = diagnose(text);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].covered, 'put');
      assert.equal(
        text.indexOf('put', text.indexOf('- get')),
        parseTxnDocument(text, 'yaml').diagnostics[0].start,
        'on the second put',
      );
      assert.match(
        seen[0].message,
        /"\/a" is also written by the put at line 4 of `success`.*duplicate key given in txn request/,
      );
    });

    it('a put and a delete of the same key, in either order, and a put inside a deleted prefix', () => {
      expectOnly(
        guarded('  - put: { key: /a, value: x }\n  - delete: { key: /a }\n'),
        'delete',
        /"\/a" is also written by the put at line 4/,
      );
      expectOnly(
        guarded('  - delete: { key: /a }\n  - put: { key: /a, value: x }\n'),
        'put',
        /also written by the delete at line 4/,
      );
      expectOnly(
        guarded('  - delete: { key: /dir/, prefix: true }\n  - put: { key: /dir/x, value: x }\n'),
        'put',
        /"\/dir\/x" is also written/,
      );
      expectOnly(
        guarded('  - delete: { key: /a, rangeEnd: /c }\n  - put: { key: /b, value: x }\n'),
        'put',
        /duplicate key/,
      );
    });

    it('what etcd 3.4 accepts is not an error: put at the range end, two deletes, a read and a put, the same key in both branches', () => {
      const ok = [
        '  - delete: { key: /a, rangeEnd: /c }\n  - put: { key: /c, value: x }\n',
        '  - delete: { key: /a }\n  - delete: { key: /a }\n',
        '  - delete: { key: /a/, prefix: true }\n  - delete: { key: /a/b }\n',
        '  - get: { key: /a }\n  - put: { key: /a, value: x }\n',
        '  - put: { key: /a, value: x }\nfailure:\n  - put: { key: /a, value: y }\n',
      ];
      for (const ops of ok) assert.deepEqual(diagnose(guarded(ops)), [], ops);
    });

    it('a put inside an open-ended delete range is a warning (etcd 3.4 checks it only inside a namespace)', () => {
      expectOnly(
        guarded("  - delete: { key: /m, rangeEnd: '\\x00' }\n  - put: { key: /z, value: x }\n"),
        'put',
        /open-ended delete range/,
        'warning',
      );
    });

    it('warns about a Txn without compares, and about a range delete without compares', () => {
      expectOnly(
        'compare: []\nsuccess:\n  - put: { key: /a, value: x }\n',
        'compare',
        /no compares: it always runs `success`/,
        'warning',
      );
      expectOnly('success:\n  - put: { key: /a, value: x }\n', 'success', /no compares/, 'warning');
      const text = 'success:\n  - delete: { key: /old/, prefix: true }\n';
      const seen = diagnose(text);
      assert.deepEqual(
        seen.map((d) => [d.severity, d.covered]),
        [
          ['warning', 'success'],
          ['warning', 'delete'],
        ],
      );
      assert.match(seen[1].message, /Range delete without any compare/);
      assert.ok(parseTxnDocument(text, 'yaml').spec, 'warnings keep the spec');
    });

    it('warns when neither branch has an operation', () => {
      expectOnly(
        'compare:\n  - { key: /a, target: version, op: ">", value: 0 }\nsuccess: []\n',
        'success',
        /does nothing/,
        'warning',
      );
    });

    it('duplicate field names are a syntax error on the second one', () => {
      const seen = diagnose(guarded('  - get: { key: /a, key: /b }\n'));
      assert.equal(seen.length, 1);
      assert.equal(seen[0].covered, 'k');
      assert.match(seen[0].message, /unique/);
    });
  });

  describe('validateTxnSpec (the last check before sending)', () => {
    const gets = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'get' as const, key: b(`/k${i}`) }));

    it('refuses 129 ops in any list with tooManyOps, accepts 128', () => {
      assert.throws(
        () => validateTxnSpec({ compare: [], success: gets(129), failure: [] }),
        (e: EtcdExplorerError) => e.kind === 'tooManyOps' && /129/.test(e.message),
      );
      assert.throws(
        () => validateTxnSpec({ compare: [], success: [], failure: gets(129) }),
        (e: EtcdExplorerError) => e.kind === 'tooManyOps',
      );
      validateTxnSpec({ compare: [], success: gets(128), failure: gets(128) });
      assert.throws(
        () => validateTxnSpec({ compare: [], success: gets(11), failure: [] }, 10),
        (e: EtcdExplorerError) => e.kind === 'tooManyOps',
      );
    });

    it('refuses a key written twice and an empty key', () => {
      const put = { kind: 'put' as const, key: b('/a'), value: b('x') };
      assert.throws(
        () => validateTxnSpec({ compare: [], success: [put, put], failure: [] }),
        (e: EtcdExplorerError) => e.kind === 'invalid' && /duplicate key/.test(e.message),
      );
      assert.throws(
        () =>
          validateTxnSpec({
            compare: [],
            success: [],
            failure: [{ kind: 'delete', key: b('/'), rangeEnd: b('0') }, put],
          }),
        (e: EtcdExplorerError) => e.kind === 'invalid',
      );
      assert.throws(
        () => validateTxnSpec({ compare: [], success: [{ kind: 'get', key: Buffer.alloc(0) }], failure: [] }),
        (e: EtcdExplorerError) => e.kind === 'invalid' && /empty key/.test(e.message),
      );
      validateTxnSpec({
        compare: [],
        success: [{ kind: 'get', key: Buffer.alloc(0), rangeEnd: Buffer.from([0]) }],
        failure: [],
      });
    });
  });

  describe('documents from records and specs', () => {
    const records = [
      { key: b('/config/a'), value: b('on'), modRevision: '17', lease: '0' },
      {
        key: Buffer.from([0x2f, 0xff, 0x00, 0x5c]),
        value: Buffer.from([0, 1, 0xfe]),
        modRevision: '9007199254740993',
        lease: '7587855208592378385',
      },
      { key: b('/config/new key: "quoted"'), value: b(''), modRevision: '0', lease: '0' },
    ];

    it('round trip: txnDocumentFromRecords → parse gives the compare-and-swap spec', () => {
      const text = txnDocumentFromRecords(records);
      const parsed = parseTxnDocument(text, 'yaml');
      assert.deepEqual(parsed.diagnostics, []);
      assert.deepEqual(parsed.spec, {
        compare: [
          { key: records[0].key, target: 'mod_revision', op: '==', value: '17' },
          { key: records[1].key, target: 'mod_revision', op: '==', value: '9007199254740993' },
          { key: records[2].key, target: 'create_revision', op: '==', value: '0' },
        ],
        success: [
          { kind: 'put', key: records[0].key, value: records[0].value },
          { kind: 'put', key: records[1].key, value: records[1].value, lease: '7587855208592378385' },
          { kind: 'put', key: records[2].key, value: records[2].value },
        ],
        failure: records.map((r) => ({ kind: 'get', key: r.key })),
      });
      assert.match(text, /^# /, 'starts with an explaining comment');
      assert.match(text, /lease: 694d7a1c2b3f0a11/, 'lease in hex as etcdctl shows it');
      assert.match(text, /valueBase64: AAH\+/, 'binary value as base64');
      assert.match(text, /key: \/\\xff\\x00\\\\/, 'binary key in display syntax');
      assert.match(text, /op: "=="/);
    });

    it('round trip of a spec with every op option', () => {
      const spec: TxnSpec = {
        compare: [
          { key: b('/a'), target: 'lease', op: '!=', value: '31' },
          { key: b('/a'), target: 'version', op: '<', value: '3' },
          { key: b('/a'), target: 'value', op: '>', value: Buffer.from([0xff]) },
        ],
        success: [
          { kind: 'get', key: b('/r/a'), rangeEnd: b('/r/m'), limit: 5, keysOnly: true },
          { kind: 'get', key: Buffer.alloc(0), rangeEnd: Buffer.from([0]), countOnly: true },
          { kind: 'delete', key: b('/d/'), rangeEnd: b('/d0'), prevKv: true },
          { kind: 'put', key: b('/p'), value: b('v'), lease: '0', prevKv: true },
        ],
        failure: [{ kind: 'delete', key: b('/x'), rangeEnd: Buffer.from([0]) }],
      };
      const text = txnDocumentFromSpec(spec);
      const parsed = parseTxnDocument(text, 'yaml');
      assert.deepEqual(
        parsed.diagnostics.filter((d) => d.severity === 'error'),
        [],
      );
      assert.deepEqual(parsed.spec, spec);
      assert.match(text, /prefix: true/);
    });
  });

  describe('the JSON schema', () => {
    const schemaPath = join(__dirname, '..', '..', '..', 'schemas', 'etcdtxn.schema.json');
    const load = () => {
      const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
      const ajv = new Ajv({ allErrors: true, strictTypes: false });
      ajv.addKeyword('defaultSnippets'); // VS Code's completion extension to JSON Schema
      return { schema, validate: ajv.compile(schema) };
    };

    it('is valid draft-07 JSON Schema', () => {
      const { schema } = load();
      assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    });

    it('accepts the documented example and generated documents', () => {
      const { validate } = load();
      const yamlScalars = parseYaml(
        'compare:\n  - { key: /n, target: value, op: "==", value: 42 }\n  - { key: /n, target: lease, op: "!=", value: 0x1f }\nsuccess:\n  - put: { key: 2024, value: 7 }\n',
      );
      for (const doc of [
        JSON.parse(EXAMPLE_JSON),
        parseYaml(EXAMPLE_YAML),
        parseYaml(
          txnDocumentFromRecords([{ key: b('/a'), value: Buffer.from([0xff]), modRevision: '3', lease: '10' }]),
        ),
        yamlScalars,
      ]) {
        assert.ok(validate(doc), JSON.stringify(validate.errors));
      }
    });

    it('rejects what the parser rejects', () => {
      const { validate } = load();
      const bad: unknown[] = [
        { sucess: [] },
        { success: [{ putt: { key: '/a', value: 'x' } }] },
        { success: [{ put: { value: 'x' } }] },
        { success: [{ get: { key: '/a', keyBase64: 'AA==' } }] },
        { success: [{ get: { keyBase64: 'A=B' } }] },
        { success: [{ get: { key: '/a\\x4g' } }] },
        { compare: [{ key: '/a', target: 'mod', op: '==', value: 1 }] },
        { compare: [{ key: '/a', target: 'mod_revision', op: '=', value: 1 }] },
        { compare: [{ key: '/a', target: 'mod_revision', op: '==', value: -1 }] },
        { success: [{ put: { key: '/a', value: 'x', lease: 'xyz' } }] },
        { success: Array.from({ length: 129 }, () => ({ get: { key: '/a' } })) },
        { success: [{ get: { key: '/a', prefix: true, rangeEnd: '/b' } }] },
        { success: [{ get: { key: '/a', sortOrder: 'ASCEND' } }] },
        { success: [{ put: { key: '/a', value: 'x' }, get: { key: '/a' } }] },
      ];
      for (const doc of bad) assert.equal(validate(doc), false, JSON.stringify(doc));
    });
  });

  describe('result documents', () => {
    it('renders a run result as YAML with a header comment', () => {
      const result: TxnResult = {
        succeeded: false,
        branch: 'failure',
        revision: '42',
        durationMs: 3.2,
        responses: [
          {
            kind: 'get',
            key: '/a',
            count: 1,
            kvs: [
              {
                key: '/a',
                value: 'x',
                valueEncoding: 'utf8',
                createRevision: '2',
                modRevision: '40',
                version: '3',
                lease: '0',
              },
            ],
          },
          { kind: 'delete', key: '/b', deleted: 0 },
        ],
      };
      const text = renderTxnResult(result, 'prod', new Date('2026-01-02T03:04:05Z'));
      assert.match(
        text,
        /^# Txn result on "prod" at 2026-01-02T03:04:05\.000Z\n# The compares did not hold: the `failure` branch ran\./,
      );
      const doc = parseYaml(text);
      assert.equal(doc.connection, 'prod');
      assert.equal(doc.succeeded, false);
      assert.equal(doc.branch, 'failure');
      assert.equal(doc.revision, '42');
      assert.deepEqual(doc.responses[0], { get: { key: '/a', count: 1, kvs: [result.responses[0].kvs![0]] } });
      assert.deepEqual(doc.responses[1], { delete: { key: '/b', deleted: 0 } });
    });

    it('renders a dry run with each compare, absent keys named, and the ops that would run', () => {
      const result: DryRunResult = {
        wouldSucceed: true,
        branch: 'success',
        revision: '7',
        compares: [{ key: '/a', target: 'create_revision', op: '==', expected: '0', actual: undefined, holds: true }],
        wouldRun: [{ kind: 'put', key: b('/a'), value: b('v') }],
      };
      const text = renderTxnResult(result, 'dev');
      assert.match(text, /^# Dry run of a Txn \(nothing was written\) on "dev"/);
      const doc = parseYaml(text);
      assert.equal(doc.dryRun, true);
      assert.equal(doc.wouldSucceed, true);
      assert.equal(doc.compares[0].actual, '(key absent)');
      assert.deepEqual(doc.wouldRun, [{ put: { key: '/a', value: 'v' } }]);
    });
  });
});
