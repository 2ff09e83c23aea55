import { EtcdConnection } from '../src/etcd/connection';

/**
 * A sample keyspace that looks like what our users run: Kubernetes-style registry keys, service discovery
 * entries on leases, JSON/YAML/TOML config values, a lock, binary and unicode keys. Written in Txn batches.
 */
export async function seedDemo(conn: EtcdConnection): Promise<{ keys: number; leases: number }> {
  const puts: Array<[string | Buffer, string | Buffer]> = [];
  const namespaces = ['default', 'kube-system', 'payments', 'search'];
  for (const ns of namespaces) {
    for (let i = 0; i < 6; i++) {
      const name = `${ns === 'kube-system' ? 'coredns' : 'api'}-${(0x5f3a + i * 977).toString(16)}`;
      puts.push([
        `/registry/pods/${ns}/${name}`,
        JSON.stringify({ kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace: ns }, status: { phase: i === 5 ? 'Pending' : 'Running' } }, null, 2),
      ]);
    }
    puts.push([`/registry/services/specs/${ns}/frontend`, JSON.stringify({ kind: 'Service', spec: { ports: [{ port: 443 }] } })]);
    puts.push([`/registry/configmaps/${ns}/app-config`, JSON.stringify({ data: { LOG_LEVEL: 'info' } })]);
  }
  puts.push(['/config/payments/service.yaml', 'replicas: 3\nfeatureFlags:\n  newCheckout: true\nlimits:\n  cpu: 500m\n']);
  puts.push(['/config/payments/limits.json', JSON.stringify({ rps: 1200, burst: 300 }, null, 2)]);
  puts.push(['/config/search/app.toml', '[index]\nshards = 12\nreplicas = 2\n']);
  puts.push(['/config/search/feature-flags', 'fuzzy=true\nsynonyms=false\n']);
  puts.push(['/locks/payments/ledger/694d7a1e3c2f0b01', '']);
  puts.push(['/locks/payments/ledger/694d7a1e3c2f0b07', '']);
  puts.push(['/elections/scheduler/694d7a1e3c2f0c10', 'scheduler-0']);
  puts.push(['/unicode/ключ/キー/🔑', 'unicode key']);
  puts.push([Buffer.from([0x2f, 0x62, 0x69, 0x6e, 0x2f, 0xff, 0xfe, 0x00, 0x01]), Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
  puts.push(['no-leading-slash', 'keys need not start with the separator']);
  for (let i = 0; i < 1200; i++) puts.push([`/metrics/samples/${String(i).padStart(5, '0')}`, String(Math.round(Math.random() * 1000))]);

  for (let i = 0; i < puts.length; i += 100) {
    const batch = puts.slice(i, i + 100);
    await conn.write('seed demo keys', (client) =>
      client.kv.txn({
        compare: [],
        success: batch.map(([key, value]) => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } })),
        failure: [],
      }),
    );
  }

  const leases = [
    { ttl: 600, service: 'payments', count: 3 },
    { ttl: 3600, service: 'search', count: 2 },
  ];
  for (const l of leases) {
    await conn.write('seed demo leases', async (client) => {
      const lease = client.lease(l.ttl, { autoKeepAlive: false });
      const id = await lease.grant();
      for (let i = 0; i < l.count; i++) {
        await lease.put(`/services/${l.service}/instance-${i}`).value(JSON.stringify({ addr: `10.0.${i}.7:8443`, lease: id }));
      }
      lease.release();
    });
  }
  return { keys: puts.length + leases.reduce((n, l) => n + l.count, 0), leases: leases.length };
}
