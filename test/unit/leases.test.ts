import * as assert from 'node:assert/strict';
import { leaseHex, parseLeaseId } from '../../src/etcd/leases';

describe('lease ids', () => {
  it('print like etcdctl (%016x), so a leading zero nibble is kept; 0 (no lease) stays 0', () => {
    const id = BigInt('0x0193a2023693f206').toString();
    assert.equal(leaseHex(id), '0193a2023693f206');
    assert.equal(leaseHex(BigInt('0x694d7a1c2b3f0a11').toString()), '694d7a1c2b3f0a11');
    assert.equal(leaseHex('0'), '0');
    assert.equal(parseLeaseId('0193a2023693f206'), id);
    assert.equal(parseLeaseId(leaseHex(id)), id);
  });
});
