import * as assert from 'node:assert/strict';
import { EtcdExplorerError } from '../../src/etcd/errors';
import { normalizeEndpoint, parseEndpoints, validateProfile } from '../../src/etcd/profile';

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof EtcdExplorerError && err.kind === 'config' && pattern.test(err.message),
  );
}

describe('connection profiles', () => {
  it('normalizes endpoints and adds the scheme TLS implies', () => {
    assert.equal(normalizeEndpoint('127.0.0.1:2379', false), 'http://127.0.0.1:2379');
    assert.equal(normalizeEndpoint('etcd-0:2379', true), 'https://etcd-0:2379');
    assert.equal(normalizeEndpoint(' https://10.0.0.1:2379/ ', false), 'https://10.0.0.1:2379');
    assert.deepEqual(parseEndpoints('a:1, b:2  a:1', false), ['http://a:1', 'http://b:2']);
  });

  it('rejects endpoints without a port, with a path or another scheme', () => {
    configError(() => normalizeEndpoint('127.0.0.1', false), /no port/);
    configError(() => normalizeEndpoint('http://h:1/v3', false), /path/);
    configError(() => normalizeEndpoint('unix://sock:1', false), /http/);
    configError(() => parseEndpoints('  ', false), /at least one endpoint/);
  });

  it('validates settings entries field by field', () => {
    const p = validateProfile({ name: 'prod', endpoints: ['e1:2379'], tls: { caFile: '/ca.pem' }, timeoutMs: 2000 });
    assert.equal(p.id, 'prod');
    assert.deepEqual(p.endpoints, ['https://e1:2379']);
    assert.equal(p.timeoutMs, 2000);
    assert.equal(p.readOnly, false);
    configError(() => validateProfile({ endpoints: ['a:1'] }), /no "name"/);
    configError(() => validateProfile({ name: 'x', endpoints: [] }), /no "endpoints"/);
    configError(() => validateProfile({ name: 'x', endpoints: ['a:1'], timeoutMs: 5 }), /timeoutMs/);
    configError(
      () => validateProfile({ name: 'x', endpoints: ['a:1'], tls: { certFile: '/c.pem' } }),
      /certFile and tls.keyFile/,
    );
  });

  it('has no field that could hold a password', () => {
    const p = validateProfile({ name: 'x', endpoints: ['a:1'], username: 'u', password: 'secret' } as object);
    assert.ok(!JSON.stringify(p).includes('secret'));
  });
});
