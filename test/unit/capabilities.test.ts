import * as assert from 'node:assert/strict';
import { ServerCapabilities, probeVerdict, rangePath } from '../../src/etcd/keyspace/capabilities';

describe('server capabilities (the RangeStream seam)', () => {
  it('reads the verdict from how the RangeStream call ended', () => {
    assert.equal(probeVerdict(12), 'unimplemented', 'UNIMPLEMENTED: no such method (etcd ≤ 3.6, or a proxy)');
    assert.equal(probeVerdict('data'), 'answered', 'a chunk arrived');
    assert.equal(probeVerdict(0), 'answered', 'the stream ended OK');
    for (const handled of [3, 7, 11, 16]) assert.equal(probeVerdict(handled), 'answered', `code ${handled}`);
    for (const unknown of [1, 4, 13, 14, -1]) assert.equal(probeVerdict(unknown), 'failed', `code ${unknown}`);
  });

  it('keeps the unary path while no streaming path is implemented, whatever the server offers', () => {
    const stream: ServerCapabilities = { version: '3.7.0', rangeStream: true, probe: 'answered' };
    const none: ServerCapabilities = { version: '3.4.23', rangeStream: false, probe: 'unimplemented' };
    assert.equal(rangePath(none), 'unary');
    assert.equal(rangePath(undefined), 'unary');
    assert.equal(rangePath(stream), 'unary');
  });
});
