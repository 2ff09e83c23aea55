import * as assert from 'node:assert/strict';
import { displayKey, isValidUtf8, keyFromId, keyId, parseDisplayKey, prefixEnd } from '../../src/etcd/keyCodec';

describe('keyCodec', () => {
  const samples: Buffer[] = [
    Buffer.from('/registry/pods/default/nginx'),
    Buffer.from('no-leading-separator'),
    Buffer.from('//double//slash//'),
    Buffer.from('ünïcødé/キー/🔑'),
    Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x80]),
    Buffer.from('back\\slash\\x41'),
    Buffer.from([0xc3]), // truncated 2-byte sequence
    Buffer.from([0xed, 0xa0, 0x80]), // encoded surrogate: not valid UTF-8
    Buffer.from('tab\there\nnewline'),
    Buffer.from('x'.repeat(4096)),
  ];

  it('round-trips every key exactly through its display text', () => {
    for (const key of samples) {
      assert.deepEqual(parseDisplayKey(displayKey(key)), key, displayKey(key));
    }
  });

  it('never shows two different keys the same way', () => {
    const shown = new Map<string, Buffer>();
    const all = [...samples, Buffer.from('\\x00'), Buffer.from([0]), Buffer.from('\\\\'), Buffer.from('\\')];
    for (const key of all) {
      const text = displayKey(key);
      const other = shown.get(text);
      assert.ok(!other || other.equals(key), `collision on ${text}`);
      shown.set(text, key);
    }
    assert.equal(shown.size, all.length);
  });

  it('shows valid UTF-8 as itself and escapes invalid bytes and controls', () => {
    assert.equal(displayKey(Buffer.from('/a/ü/🔑')), '/a/ü/🔑');
    assert.equal(displayKey(Buffer.from([0x61, 0xff, 0x00])), 'a\\xff\\x00');
    assert.equal(displayKey(Buffer.from('a\\b')), 'a\\\\b');
  });

  it('detects invalid UTF-8', () => {
    assert.equal(isValidUtf8(Buffer.from('héllo 🔑')), true);
    assert.equal(isValidUtf8(Buffer.from([0xff])), false);
    assert.equal(isValidUtf8(Buffer.from([0xe0, 0x80, 0x80])), false, 'overlong');
  });

  it('round-trips key ids', () => {
    for (const key of samples) assert.deepEqual(keyFromId(keyId(key)), key);
  });

  it('computes prefix ends like etcd', () => {
    assert.deepEqual(prefixEnd(Buffer.from('/a/')), Buffer.from('/a0'));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
    assert.deepEqual(prefixEnd(Buffer.alloc(0)), Buffer.from([0]));
  });
});
