import { EtcdConnection } from '../src/etcd/connection';
import type { KubernetesObject } from '../src/etcd/kubernetes/decode';
import { encodeKubernetesObject } from '../src/etcd/kubernetes/encode';

const T0 = Date.UTC(2025, 11, 1, 8, 0, 0);
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const atMicro = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString().replace(/Z$/, '000Z');
const uid = (n: number): string =>
  `5c0ffee0-${(0x1000 + n).toString(16)}-4a1b-9c2d-${(0x5e7a0000 + n * 7919).toString(16).padStart(12, '0')}`;

/**
 * What kube-apiserver would have stored: built-in kinds as protobuf ("k8s\0" + runtime.Unknown), a custom
 * resource as JSON, and a Secret encrypted at rest (aescbc; the ciphertext here is random bytes).
 */
function kubernetesObjects(): Array<[string, Buffer | string]> {
  const out: Array<[string, Buffer | string]> = [];
  let n = 0;
  const put = (key: string, object: KubernetesObject) => out.push([key, Buffer.from(encodeKubernetesObject(object))]);
  const meta = (name: string, namespace?: string, labels?: Record<string, string>) => ({
    name,
    ...(namespace ? { namespace } : {}),
    uid: uid(++n),
    resourceVersion: String(1000 + n),
    creationTimestamp: at(n * 60),
    ...(labels ? { labels } : {}),
  });
  for (const node of ['node-a', 'node-b']) {
    put(`/registry/minions/${node}`, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: meta(node, undefined, { 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux' }),
      spec: { podCIDR: node === 'node-a' ? '10.244.0.0/24' : '10.244.1.0/24' },
      status: {
        capacity: { cpu: '4', memory: '16302084Ki', pods: '110' },
        allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            lastHeartbeatTime: at(3600),
            lastTransitionTime: at(60),
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        addresses: [
          { type: 'InternalIP', address: node === 'node-a' ? '172.18.0.2' : '172.18.0.3' },
          { type: 'Hostname', address: node },
        ],
        nodeInfo: {
          machineID: 'm',
          systemUUID: 's',
          bootID: 'b',
          kernelVersion: '6.1.0-18-amd64',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          containerRuntimeVersion: 'containerd://1.7.13',
          kubeletVersion: 'v1.31.2',
          kubeProxyVersion: 'v1.31.2',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    });
    put(`/registry/leases/kube-node-lease/${node}`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: meta(node, 'kube-node-lease'),
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: atMicro(3600.25) },
    });
  }
  for (const ns of ['default', 'kube-system', 'payments', 'search']) {
    put(`/registry/namespaces/${ns}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta(ns, undefined, { 'kubernetes.io/metadata.name': ns }),
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    const app = ns === 'kube-system' ? 'coredns' : 'api';
    const image = app === 'coredns' ? 'registry.k8s.io/coredns/coredns:v1.11.3' : `ghcr.io/example/${ns}-api:2.4.1`;
    const container = {
      name: app,
      image,
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      env: [{ name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'LOG_LEVEL' } } }],
      resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
      readinessProbe: {
        httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' },
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    };
    put(`/registry/deployments/${ns}/${app}`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...meta(app, ns, { app }), generation: 3, annotations: { 'deployment.kubernetes.io/revision': '3' } },
      spec: {
        replicas: ns === 'search' ? 0 : 5,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: {
            containers: [container],
            restartPolicy: 'Always',
            terminationGracePeriodSeconds: 30,
            dnsPolicy: 'ClusterFirst',
            schedulerName: 'default-scheduler',
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: 3,
        replicas: 5,
        updatedReplicas: 5,
        readyReplicas: 4,
        availableReplicas: 4,
        unavailableReplicas: 1,
      },
    });
    for (let i = 0; i < 6; i++) {
      const name = `${app}-${(0x5f3a + i * 977).toString(16)}`;
      const started = 120 + i * 30;
      put(`/registry/pods/${ns}/${name}`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          ...meta(name, ns, { app, 'pod-template-hash': '7d4b9c8f6' }),
          generateName: `${app}-7d4b9c8f6-`,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: `${app}-7d4b9c8f6`,
              uid: uid(900),
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          volumes: [
            {
              name: 'kube-api-access',
              projected: {
                sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }],
                defaultMode: 420,
              },
            },
          ],
          containers: [
            {
              ...container,
              volumeMounts: [
                { name: 'kube-api-access', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
              ],
            },
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          serviceAccountName: 'default',
          nodeName: i % 2 ? 'node-b' : 'node-a',
          securityContext: {},
          schedulerName: 'default-scheduler',
          tolerations: [
            { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          ],
          priority: 0,
          enableServiceLinks: true,
          preemptionPolicy: 'PreemptLowerPriority',
        },
        status:
          i === 5
            ? {
                phase: 'Pending',
                conditions: [
                  {
                    type: 'PodScheduled',
                    status: 'False',
                    lastTransitionTime: at(started),
                    reason: 'Unschedulable',
                    message: '0/2 nodes are available: 2 Insufficient cpu.',
                  },
                ],
                qosClass: 'Burstable',
              }
            : {
                phase: 'Running',
                conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at(started + 4) }],
                hostIP: i % 2 ? '172.18.0.3' : '172.18.0.2',
                podIP: `10.244.${i % 2}.${10 + i}`,
                podIPs: [{ ip: `10.244.${i % 2}.${10 + i}` }],
                startTime: at(started),
                containerStatuses: [
                  {
                    name: app,
                    state: { running: { startedAt: at(started + 2) } },
                    ready: true,
                    restartCount: i === 3 ? 2 : 0,
                    image,
                    imageID: `${image.split(':')[0]}@sha256:4f7a9c`,
                    containerID: `containerd://${(0xabc0 + i).toString(16)}`,
                    started: true,
                  },
                ],
                qosClass: 'Burstable',
              },
      });
    }
    put(`/registry/services/specs/${ns}/frontend`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('frontend', ns, { app }),
      spec: {
        ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 'http' }],
        selector: { app },
        clusterIP: `10.96.${n}.10`,
        clusterIPs: [`10.96.${n}.10`],
        type: 'ClusterIP',
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
      status: { loadBalancer: {} },
    });
    put(`/registry/configmaps/${ns}/app-config`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('app-config', ns),
      data: { LOG_LEVEL: 'info', 'app.properties': 'workers=4\ntimeout=30s\n' },
    });
    put(`/registry/secrets/${ns}/db-credentials`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('db-credentials', ns),
      data: {
        username: Buffer.from(`${ns}-app`).toString('base64'),
        password: Buffer.from('correct horse battery staple').toString('base64'),
      },
      type: 'Opaque',
    });
    put(`/registry/events/${ns}/${app}.1820a4b3c5d6e7f8`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: meta(`${app}.1820a4b3c5d6e7f8`, ns),
      involvedObject: {
        kind: 'Pod',
        namespace: ns,
        name: `${app}-5f3a`,
        uid: uid(1),
        apiVersion: 'v1',
        fieldPath: `spec.containers{${app}}`,
      },
      reason: 'Pulled',
      message: `Container image "${image}" already present on machine`,
      source: { component: 'kubelet', host: 'node-a' },
      firstTimestamp: at(122),
      lastTimestamp: at(122),
      count: 1,
      type: 'Normal',
      eventTime: atMicro(122.5),
      reportingComponent: 'kubelet',
      reportingInstance: 'node-a',
    });
  }
  // A Secret as kube-apiserver writes it with an aescbc EncryptionConfiguration (key "key1").
  out.push([
    '/registry/secrets/payments/stripe-api-key',
    Buffer.concat([
      Buffer.from('k8s:enc:aescbc:v1:key1:'),
      Buffer.from(Array.from({ length: 96 }, (_, i) => (i * 73 + 41) & 0xff)),
    ]),
  ]);
  // Custom resources are stored as JSON.
  out.push([
    '/registry/example.com/widgets/payments/checkout-widget',
    JSON.stringify({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: {
        name: 'checkout-widget',
        namespace: 'payments',
        uid: uid(++n),
        generation: 1,
        creationTimestamp: at(4000),
      },
      spec: { size: 3, color: 'teal' },
    }),
  ]);
  return out;
}

/**
 * A sample keyspace that looks like what our users run: Kubernetes-style registry keys, service discovery
 * entries on leases, JSON/YAML/TOML config values, a lock, binary and unicode keys. Written in Txn batches.
 */
export async function seedDemo(conn: EtcdConnection): Promise<{ keys: number; leases: number }> {
  const puts: Array<[string | Buffer, string | Buffer]> = [];
  puts.push(...kubernetesObjects());
  puts.push([
    '/config/payments/service.yaml',
    'replicas: 3\nfeatureFlags:\n  newCheckout: true\nlimits:\n  cpu: 500m\n',
  ]);
  puts.push(['/config/payments/limits.json', JSON.stringify({ rps: 1200, burst: 300 }, null, 2)]);
  puts.push(['/config/search/app.toml', '[index]\nshards = 12\nreplicas = 2\n']);
  puts.push(['/config/search/feature-flags', 'fuzzy=true\nsynonyms=false\n']);
  puts.push(['/locks/payments/ledger/694d7a1e3c2f0b01', '']);
  puts.push(['/locks/payments/ledger/694d7a1e3c2f0b07', '']);
  puts.push(['/elections/scheduler/694d7a1e3c2f0c10', 'scheduler-0']);
  puts.push(['/unicode/ключ/キー/🔑', 'unicode key']);
  puts.push([
    Buffer.from([0x2f, 0x62, 0x69, 0x6e, 0x2f, 0xff, 0xfe, 0x00, 0x01]),
    Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  ]);
  puts.push(['no-leading-slash', 'keys need not start with the separator']);
  for (let i = 0; i < 1200; i++)
    puts.push([`/metrics/samples/${String(i).padStart(5, '0')}`, String(Math.round(Math.random() * 1000))]);

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
        await lease
          .put(`/services/${l.service}/instance-${i}`)
          .value(JSON.stringify({ addr: `10.0.${i}.7:8443`, lease: id }));
      }
      lease.release();
    });
  }
  return { keys: puts.length + leases.reduce((n, l) => n + l.count, 0), leases: leases.length };
}
