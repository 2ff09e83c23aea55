import * as assert from 'node:assert/strict';
import { hexDump } from '../../src/values/hexDump';
import { detectLanguage } from '../../src/values/languageDetect';

describe('value presentation', () => {
  it('picks the language from the key extension first, then the content', () => {
    assert.equal(detectLanguage('/config/app.yaml', '{"a":1}'), 'yaml');
    assert.equal(detectLanguage('/config/app', '{"a": [1, 2]}'), 'json');
    assert.equal(detectLanguage('/config/app', 'replicas: 3\nflags:\n  a: true\n'), 'yaml');
    assert.equal(detectLanguage('/config/app', '<?xml version="1.0"?><a/>'), 'xml');
    assert.equal(detectLanguage('/config/app', '[index]\nshards = 12\n'), 'toml');
    assert.equal(detectLanguage('/config/app', 'just some words'), undefined);
    assert.equal(detectLanguage('/config/app', '{not json'), undefined);
  });

  it('dumps bytes as hex with offsets and an ASCII column', () => {
    const dump = hexDump(Buffer.from([0x41, 0x00, 0xff, 0x7a]));
    assert.match(dump, /^00000000  41 00 ff 7a\s+\|A\.\.z\|/);
    assert.match(dump, /\(4 bytes, base64: QQD/);
    assert.match(hexDump(Buffer.alloc(40)), /^00000010 /m, 'second line at offset 0x10');
  });
});
