import * as assert from 'node:assert/strict';
import { Writer } from 'protobufjs/minimal';
import { decodeKubernetesValue, inspectKubernetesValue, type KubernetesObject } from '../../src/etcd/kubernetes/decode';
import { encodeKubernetesObject } from '../../src/etcd/kubernetes/encode';
import { goDuration, parseGoDuration } from '../../src/etcd/kubernetes/goFormat';
import { EtcdExplorerError } from '../../src/etcd/errors';

/** Round trip through the protobuf form kube-apiserver stores: what comes back must be exactly `object`. */
function roundTrip(object: KubernetesObject): void {
  const bytes = encodeKubernetesObject(object);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00], 'k8s\\0 magic');
  assert.deepEqual(decodeKubernetesValue(bytes), object);
}

/** "k8s\0" + runtime.Unknown around `raw`, written field by field (independent of the descriptor). */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const typeMeta = Writer.create().uint32(0x0a).string(apiVersion).uint32(0x12).string(kind).finish();
  const unknown = Writer.create().uint32(0x0a).bytes(typeMeta).uint32(0x12).bytes(raw).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

const metadata = {
  name: 'web-7d4b9c-x2kq',
  generateName: 'web-7d4b9c-',
  namespace: 'shop',
  uid: '6f1c1c1e-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
  resourceVersion: '48213',
  creationTimestamp: '2025-12-01T00:00:00Z',
  labels: { app: 'web', 'pod-template-hash': '7d4b9c' },
  annotations: { 'kubernetes.io/psp': 'restricted' },
  ownerReferences: [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-7d4b9c',
      uid: 'aa-bb',
      controller: true,
      blockOwnerDeletion: true,
    },
  ],
};

describe('Kubernetes values: decodeKubernetesValue', () => {
  it('decodes a Pod: Time, Quantity, IntOrString, nested lists and maps, pointer zeros, non-omitempty zeros', () => {
    roundTrip({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata,
      spec: {
        volumes: [
          { name: 'cache', emptyDir: {} },
          { name: 'conf', configMap: { name: 'web-conf', items: [{ key: 'a', path: 'a.conf' }], defaultMode: 420 } },
        ],
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'MODE', value: 'prod' }],
            resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } },
            livenessProbe: {
              httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
              initialDelaySeconds: 3,
              timeoutSeconds: 1,
              periodSeconds: 10,
              successThreshold: 1,
              failureThreshold: 3,
            },
            readinessProbe: { tcpSocket: { port: 8080 }, timeoutSeconds: 1 },
            volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
            imagePullPolicy: 'IfNotPresent',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        automountServiceAccountToken: false,
        nodeName: 'node-1',
        securityContext: {},
        tolerations: [
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ],
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-12-01T00:00:05Z' }],
        podIP: '10.244.0.12',
        startTime: '2025-12-01T00:00:01Z',
        containerStatuses: [
          {
            name: 'web',
            state: { running: { startedAt: '2025-12-01T00:00:04Z' } },
            ready: false,
            restartCount: 0,
            image: 'nginx:1.27',
            imageID: 'docker.io/library/nginx@sha256:abc',
            started: true,
          },
        ],
      },
    });
  });

  it('decodes a Deployment scaled to zero (a set pointer prints even when zero) with a Duration-free strategy', () => {
    roundTrip({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', generation: 4, creationTimestamp: '2025-11-30T23:59:59Z' },
      spec: {
        replicas: 0,
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
        },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: { observedGeneration: 4, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    });
  });

  it('decodes a ConfigMap (data and binaryData as base64) and a Secret (bytes as base64)', () => {
    roundTrip({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-conf', namespace: 'shop' },
      data: { 'app.properties': 'mode=prod\nworkers=4\n', empty: '' },
      binaryData: { 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString('base64') },
      immutable: true,
    });
    roundTrip({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'shop' },
      data: { password: Buffer.from('s3cr3t').toString('base64'), username: 'YWRtaW4=' },
      type: 'Opaque',
    });
  });

  it('decodes a Service (targetPort as number and as name) and a Node (capacity quantities, taints, addresses)', () => {
    roundTrip({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'admin', protocol: 'TCP', port: 9000, targetPort: 'admin', nodePort: 30900 },
        ],
        selector: { app: 'web' },
        clusterIP: '10.96.0.20',
        clusterIPs: ['10.96.0.20'],
        type: 'NodePort',
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
      },
      status: { loadBalancer: {} },
    });
    roundTrip({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } },
      spec: {
        podCIDR: '10.244.0.0/24',
        podCIDRs: ['10.244.0.0/24'],
        taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
      },
      status: {
        capacity: { cpu: '4', memory: '16367264Ki', pods: '110', 'ephemeral-storage': '102687672Ki' },
        allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
        addresses: [
          { type: 'InternalIP', address: '172.18.0.2' },
          { type: 'Hostname', address: 'node-1' },
        ],
        nodeInfo: {
          machineID: 'm',
          systemUUID: 's',
          bootID: 'b',
          kernelVersion: '6.1.0',
          osImage: 'Debian GNU/Linux 12',
          containerRuntimeVersion: 'containerd://1.7.0',
          kubeletVersion: 'v1.31.0',
          kubeProxyVersion: 'v1.31.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    });
  });

  it('decodes a Lease (MicroTime with six fractional digits) and an Event (count, MicroTime, involvedObject)', () => {
    roundTrip({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', namespace: 'kube-node-lease' },
      spec: {
        holderIdentity: 'node-1',
        leaseDurationSeconds: 40,
        acquireTime: '2025-12-01T00:00:00.000000Z',
        renewTime: '2025-12-01T00:10:00.123456Z',
      },
    });
    roundTrip({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1820a', namespace: 'shop' },
      involvedObject: {
        kind: 'Pod',
        namespace: 'shop',
        name: 'web-7d4b9c-x2kq',
        uid: 'u1',
        apiVersion: 'v1',
        fieldPath: 'spec.containers{web}',
      },
      reason: 'Pulled',
      message: 'Container image "nginx:1.27" already present on machine',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: '2025-12-01T00:00:03Z',
      lastTimestamp: '2025-12-01T00:05:03Z',
      count: 3,
      type: 'Normal',
      eventTime: '2025-12-01T00:00:03.250000Z',
      reportingComponent: 'kubelet',
    });
  });

  it('decodes CRD schemas: $ref/x-kubernetes-* names, JSON defaults, schema-or-bool, int64 and float fields', () => {
    roundTrip({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    'x-kubernetes-preserve-unknown-fields': true,
                    additionalProperties: false,
                    properties: {
                      size: { type: 'integer', default: 3, maximum: 10.5, format: 'int64' },
                      tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    });
  });

  it('leaves out fields that are absent or zero with omitempty, as kubectl does', () => {
    // ObjectMeta generation=7 (int64) and uid=5 (string) have omitempty: Go writes 0 and "", kubectl prints neither.
    const meta = Writer.create().uint32(0x0a).string('a').uint32(0x38).int64(0).uint32(0x2a).string('').finish();
    const raw = Writer.create().uint32(0x0a).bytes(meta).finish();
    assert.deepEqual(decodeKubernetesValue(envelope('v1', 'ConfigMap', raw)), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
    });
  });

  it('reads bytes written by hand from upstream field numbers (not from this descriptor)', () => {
    // core/v1 ConfigMap: metadata=1, data=2 (map), binaryData=3; ObjectMeta: name=1, namespace=3,
    // creationTimestamp=8 (Time: seconds=1, nanos=2). Service: spec=2; ServiceSpec: ports=1;
    // ServicePort: name=1, port=3, targetPort=4 (IntOrString: type=1, intVal=2, strVal=3).
    const time = Writer.create().uint32(0x08).int64(1764547200).uint32(0x10).int32(0).finish();
    const meta = Writer.create()
      .uint32(0x0a)
      .string('conf')
      .uint32(0x1a)
      .string('ns')
      .uint32(0x42)
      .bytes(time)
      .finish();
    const entry = Writer.create().uint32(0x0a).string('k').uint32(0x12).string('v').finish();
    const bin = Writer.create()
      .uint32(0x0a)
      .string('b')
      .uint32(0x12)
      .bytes(Buffer.from([1, 2, 255]))
      .finish();
    const cm = Writer.create().uint32(0x0a).bytes(meta).uint32(0x12).bytes(entry).uint32(0x1a).bytes(bin).finish();
    assert.deepEqual(decodeKubernetesValue(envelope('v1', 'ConfigMap', cm)), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'conf', namespace: 'ns', creationTimestamp: '2025-12-01T00:00:00Z' },
      data: { k: 'v' },
      binaryData: { b: 'AQL/' },
    });
    const named = Writer.create().uint32(0x08).int64(1).uint32(0x10).int32(0).uint32(0x1a).string('http').finish();
    const port = Writer.create().uint32(0x0a).string('web').uint32(0x18).int32(80).uint32(0x22).bytes(named).finish();
    const svc = Writer.create().uint32(0x12).bytes(Writer.create().uint32(0x0a).bytes(port).finish()).finish();
    assert.deepEqual(decodeKubernetesValue(envelope('v1', 'Service', svc)), {
      apiVersion: 'v1',
      kind: 'Service',
      spec: { ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
  });

  it('returns custom-resource JSON as stored, and undefined for values that are not Kubernetes', () => {
    const cr = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'shop' },
      spec: { size: 3 },
    };
    assert.deepEqual(decodeKubernetesValue(Buffer.from(JSON.stringify(cr))), cr);
    assert.equal(inspectKubernetesValue(Buffer.from(JSON.stringify(cr)))?.format, 'json');
    assert.equal(decodeKubernetesValue(Buffer.from('{"name":"not k8s"}')), undefined);
    assert.equal(decodeKubernetesValue(Buffer.from('plain text')), undefined);
    assert.equal(decodeKubernetesValue(new Uint8Array([0x00, 0xff, 0x10])), undefined);
    assert.equal(decodeKubernetesValue(new Uint8Array(0)), undefined);
  });

  it('names an encrypted value with its provider and key name without decrypting it', () => {
    const value = Buffer.concat([Buffer.from('k8s:enc:aescbc:v1:key1:'), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x3a])]);
    assert.deepEqual(decodeKubernetesValue(value), {
      encrypted: true,
      provider: 'aescbc',
      version: 'v1',
      keyName: 'key1',
      ciphertextBytes: 5,
    });
    const kms = decodeKubernetesValue(Buffer.from('k8s:enc:kms:v2:vault-plugin:\x0a\x03abc'));
    assert.deepEqual(kms && 'encrypted' in kms ? [kms.provider, kms.version, kms.keyName] : kms, [
      'kms',
      'v2',
      'vault-plugin',
    ]);
  });

  it('dumps a kind it has no schema for by field number instead of throwing', () => {
    const inner = Writer.create().uint32(0x0a).string('w1').finish();
    const raw = Writer.create().uint32(0x0a).bytes(inner).uint32(0x10).int32(7).uint32(0x10).int32(8).finish();
    assert.deepEqual(decodeKubernetesValue(envelope('example.com/v1', 'Widget', raw)), {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      fields: { '1': { '1': 'w1' }, '2': [7, 8] },
    });
  });

  it('gives a clear error for truncated or corrupt protobuf', () => {
    const bytes = encodeKubernetesObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { k: 'v' },
    });
    for (const broken of [bytes.subarray(0, bytes.length - 12), bytes.subarray(0, 9)]) {
      assert.throws(
        () => decodeKubernetesValue(broken),
        (err: unknown) =>
          err instanceof EtcdExplorerError &&
          err.kind === 'invalid' &&
          /Corrupt Kubernetes value: .*truncated/.test(err.message),
      );
    }
    // Field 1 (metadata) with wire type 0 where the schema expects a message.
    const wrongWire = envelope('v1', 'ConfigMap', Writer.create().uint32(0x08).int32(1).finish());
    assert.throws(
      () => decodeKubernetesValue(wrongWire),
      /Corrupt Kubernetes value: the v1 ConfigMap does not decode at metadata: wire type 0/,
    );
    assert.throws(() => decodeKubernetesValue(Buffer.from('k8s:enc:aescbc')), /Corrupt Kubernetes value/);
  });

  it('prints durations as Go does', () => {
    for (const [ns, text] of [
      [0, '0s'],
      [1.5e9, '1.5s'],
      [3.6e12, '1h0m0s'],
      [9e10, '1m30s'],
      [2.5e8, '250ms'],
      [-1e9, '-1s'],
    ] as const) {
      assert.equal(goDuration(ns), text);
      assert.equal(parseGoDuration(text), ns);
    }
  });
});
