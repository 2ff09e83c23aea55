/**
 * Seeded, deterministic keyspaces of about a million keys each, for `npm run bench:tree`. Each shape names the
 * folders to list at levels 1–3 (the biggest folder of each level, as a user drilling down would meet it).
 */
import { seededRandom } from '../test/rig/random';

export interface Shape {
  readonly name: string;
  /** Every key, in any order (generated lazily: a million keys). */
  keys(): Generator<string>;
  /** Folder listed at levels 1, 2 and 3. */
  readonly levels: readonly string[];
}

export const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
}

/** `n` characters drawn from `alphabet`. */
export function chars(rand: () => number, n: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** Kubernetes' pod-template hashes and name suffixes use this alphabet (no vowels, no look-alikes). */
export const kubeSuffix = (rand: () => number, n: number): string => chars(rand, n, 'bcdfghjklmnpqrstvwxz2456789');

function uuid(rand: () => number): string {
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(rand, 3)}-${hex(rand, 12)}`;
}

const today: Shape = {
  name: 'today (10×100×1000 + flat 100k)',
  levels: ['/bench/', '/bench/a3/', '/flat/'],
  *keys() {
    for (let a = 0; a < 10; a++)
      for (let s = 0; s < 100; s++) for (let k = 0; k < 1000; k++) yield `/bench/a${a}/s${s}/k${k}`;
    for (let i = 0; i < 100_000; i++) yield `/flat/item-${i}`;
  },
};

/**
 * An API server's registry: resource folders with long names sharing prefixes, services/specs + endpoints,
 * CRD groups with dots, 400 namespaces named team-NNN-prod / -staging (shared prefix and suffix), pods named
 * <deployment>-<template hash>-<suffix>, events <pod>.<hex>, cluster-scoped nodes ip-10-0-X-Y.ec2.internal.
 */
const registry: Shape = {
  name: 'kubernetes registry',
  levels: ['/registry/', '/registry/pods/', '/registry/pods/team-042-prod/'],
  *keys() {
    const rand = seededRandom(14);
    const namespaces = Array.from(
      { length: 400 },
      (_, i) => `team-${pad(Math.floor(i / 2), 3)}-${i % 2 ? 'staging' : 'prod'}`,
    );
    const apps = ['api', 'web', 'worker', 'cache', 'ingest', 'billing', 'auth', 'search'];
    const nodes = Array.from(
      { length: 2000 },
      () => `ip-10-0-${Math.floor(rand() * 256)}-${Math.floor(rand() * 256)}.ec2.internal`,
    );
    for (const node of new Set(nodes)) {
      yield `/registry/minions/${node}`;
      yield `/registry/leases/kube-node-lease/${node}`;
      yield `/registry/csinodes/${node}`;
    }
    for (const ns of namespaces) {
      yield `/registry/namespaces/${ns}`;
      const deployments = apps.map((app) => `${app}-${ns.slice(5, 8)}-${kubeSuffix(rand, 10)}`);
      for (let p = 0; p < 1200; p++) {
        const deploy = deployments[p % deployments.length];
        const pod = `${deploy}-${kubeSuffix(rand, 5)}`;
        yield `/registry/pods/${ns}/${pod}`;
        if (p % 2 === 0) yield `/registry/events/${ns}/${pod}.${hex(rand, 16)}`;
        if (p % 3 === 0) yield `/registry/events/${ns}/${pod}.${hex(rand, 16)}`;
      }
      for (const d of deployments) {
        yield `/registry/deployments/${ns}/${d.slice(0, d.lastIndexOf('-'))}`;
        yield `/registry/replicasets/${ns}/${d}`;
        yield `/registry/services/specs/${ns}/${d.slice(0, d.lastIndexOf('-'))}`;
        yield `/registry/services/endpoints/${ns}/${d.slice(0, d.lastIndexOf('-'))}`;
        yield `/registry/poddisruptionbudgets/${ns}/${d.slice(0, d.lastIndexOf('-'))}`;
        yield `/registry/monitoring.coreos.com/servicemonitors/${ns}/${d.slice(0, d.lastIndexOf('-'))}`;
      }
      for (let i = 0; i < 60; i++) {
        yield `/registry/secrets/${ns}/secret-${pad(i, 3)}-${kubeSuffix(rand, 5)}`;
        yield `/registry/configmaps/${ns}/config-${pad(i, 3)}`;
        yield `/registry/serviceaccounts/${ns}/sa-${pad(i, 2)}`;
        if (i < 20) yield `/registry/persistentvolumeclaims/${ns}/data-${pad(i, 2)}`;
        if (i < 20) yield `/registry/podtemplates/${ns}/template-${pad(i, 2)}`;
        if (i < 10) yield `/registry/cert-manager.io/certificates/${ns}/cert-${i}`;
      }
    }
    for (let i = 0; i < 8000; i++) yield `/registry/persistentvolumes/pvc-${uuid(rand)}`;
    for (let i = 0; i < 300; i++) yield `/registry/apiextensions.k8s.io/customresourcedefinitions/crd${i}.example.com`;
    for (let i = 0; i < 500; i++) yield `/registry/clusterroles/system:role-${pad(i, 3)}`;
    yield '/registry/ranges/serviceips';
    yield '/registry/ranges/servicenodeports';
  },
};

const discovery: Shape = {
  name: 'service discovery /services/<name>/<ip:port>',
  levels: ['/services/', '/services/svc-payments-0042/', '/services/svc-payments-0042/'],
  *keys() {
    const rand = seededRandom(3);
    const teams = ['payments', 'search', 'checkout', 'inventory', 'shipping', 'identity', 'ads', 'ml', 'web', 'mail'];
    for (let s = 0; s < 20_000; s++) {
      const service = `svc-${teams[s % teams.length]}-${pad(Math.floor(s / teams.length), 4)}`;
      for (let i = 0; i < 50; i++)
        yield `/services/${service}/10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}:${8000 + i}`;
    }
  },
};

const KNOWN_UUID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

const uuids: Shape = {
  name: 'UUID-named folders (100k × 10)',
  levels: ['/objects/', `/objects/${KNOWN_UUID}/`, `/objects/${KNOWN_UUID}/`],
  *keys() {
    const rand = seededRandom(5);
    for (let o = 0; o < 100_000; o++) {
      const id = o === 0 ? KNOWN_UUID : uuid(rand);
      for (let k = 0; k < 10; k++) yield `/objects/${id}/part-${k}`;
    }
  },
};

const chains: Shape = {
  name: 'deep narrow chains',
  levels: ['/chain/', '/chain/c042/', '/chain/c042/a/'],
  *keys() {
    for (let c = 0; c < 100; c++)
      for (let k = 0; k < 10_000; k++) yield `/chain/c${pad(c, 3)}/a/b/c/d/e/f/g/${pad(k, 5)}`;
  },
};

const sequences: Shape = {
  name: 'numeric sequences, long shared prefix and suffix',
  levels: ['/jobs/', '/jobs/run-2026-11-0000012345-batch/', '/jobs/run-2026-11-0000012345-batch/'],
  *keys() {
    for (let j = 0; j < 200_000; j++)
      for (const step of ['fetch', 'build', 'test', 'package', 'publish'])
        yield `/jobs/run-2026-11-${pad(j, 10)}-batch/${step}`;
  },
};

const flat: Shape = {
  name: 'flat folder of 100k keys + dated archive',
  levels: ['/flat/', '/archive/', '/archive/2026-03-14/'],
  *keys() {
    for (let i = 0; i < 100_000; i++) yield `/flat/item-${pad(i, 7)}`;
    for (let d = 0; d < 900; d++) {
      const day = new Date(Date.UTC(2024, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      for (let n = 0; n < 1000; n++) yield `/archive/${day}/entry-${pad(n, 4)}.json`;
    }
  },
};

function word(rand: () => number, min: number, max: number): string {
  const n = min + Math.floor(rand() * (max - min + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz'[Math.floor(rand() * 26)];
  return s;
}

/**
 * Children of very uneven sizes: three huge folders among hundreds of tiny ones and hundreds of one-key children
 * (UUID keys), names that are prefixes of each other (key `a`, key `ab`, folder `abc/`, folder `abcd/`); below,
 * services whose names share a long suffix and differ in the middle, a few huge among many tiny.
 */
const uneven: Shape = {
  name: 'uneven sizes, names prefixes of each other, one-key children',
  levels: ['/mix/', '/mix/logs/', '/mix/logs/svc-checkout.prod.eu-west-1.internal/'],
  *keys() {
    const rand = seededRandom(8);
    yield '/mix/a';
    yield '/mix/ab';
    for (let i = 0; i < 3; i++) yield `/mix/abcd/${i}`;
    for (let i = 0; i < 100_000; i++) yield `/mix/abc/${pad(i, 6)}`;
    const used = new Set(['a', 'ab', 'abc', 'abcd', 'logs', 'metrics']);
    for (let t = 0; t < 600; t++) {
      const name = word(rand, 2, 10);
      if (used.has(name)) continue;
      used.add(name);
      for (let k = 0, n = 1 + Math.floor(rand() * 5); k < n; k++) yield `/mix/${name}/k${k}`;
    }
    for (let u = 0; u < 300; u++) yield `/mix/${uuid(rand)}`;
    const big = ['checkout', 'search', 'payments', 'identity', 'ingest'];
    const tiny = [...new Set(Array.from({ length: 500 }, () => word(rand, 3, 12)))].filter((w) => !big.includes(w));
    for (const svc of big)
      for (let i = 0; i < 80_000; i++) yield `/mix/logs/svc-${svc}.prod.eu-west-1.internal/${pad(i, 8)}`;
    for (const svc of tiny)
      for (let i = 0, n = 1 + Math.floor(rand() * 20); i < n; i++)
        yield `/mix/logs/svc-${svc}.prod.eu-west-1.internal/${pad(i, 8)}`;
    for (let i = 0; i < 340_000; i++) yield `/mix/metrics/${hex(rand, 2)}/${pad(i, 7)}`;
    for (let i = 0; i < 160_000; i++) yield `/mix/zz-archive/${pad(i, 7)}`;
  },
};

/**
 * 100k hosts whose names share a long prefix and suffix and differ in a middle of varying length, 10 keys each;
 * beside them 100k one-key children named by UUID.
 */
const suffixes: Shape = {
  name: 'long shared suffix, varying middle + one-key UUID children',
  levels: ['/hosts/', '/sessions/', '/hosts/node-7c9e.prod.eu-west-1.compute.internal/'],
  *keys() {
    const rand = seededRandom(9);
    const seen = new Set<string>(['7c9e']);
    yield* host('7c9e');
    while (seen.size < 90_000) {
      const middle = hex(rand, 4 + Math.floor(rand() * 9));
      if (seen.has(middle)) continue;
      seen.add(middle);
      yield* host(middle);
    }
    for (let i = 0; i < 100_000; i++) yield `/sessions/${uuid(rand)}`;
    function* host(middle: string): Generator<string> {
      for (const m of ['cpu', 'mem', 'disk', 'net', 'load', 'procs', 'uptime', 'temp', 'fans', 'power'])
        yield `/hosts/node-${middle}.prod.eu-west-1.compute.internal/${m}`;
    }
  },
};

/**
 * A registry as clusters grow it: namespaces named by people (words, team-app pairs, hash-suffixed preview
 * environments, numbered PR namespaces) with Zipf-distributed sizes — a few with tens of thousands of pods, most
 * with a handful; pods <deployment>-<hash>-<suffix>, two events per pod, a few configmaps and secrets each.
 */
const grown: Shape = {
  name: 'kubernetes registry, word-named namespaces of Zipf sizes',
  levels: ['/registry/', '/registry/pods/', '/registry/events/'],
  *keys() {
    const rand = seededRandom(21);
    const fixed = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'monitoring', 'ingress-nginx'];
    const names = new Set<string>(fixed);
    while (names.size < 700) {
      const r = rand();
      if (r < 0.35) names.add(`${word(rand, 3, 9)}-${word(rand, 2, 8)}`);
      else if (r < 0.55) names.add(`preview-${hex(rand, 6)}`);
      else if (r < 0.7) names.add(`pr-${1000 + Math.floor(rand() * 9000)}`);
      else names.add(word(rand, 4, 14));
    }
    const namespaces = [...names];
    // Sizes by rank (shuffled names): ~550k pods in all.
    for (let i = namespaces.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [namespaces[i], namespaces[j]] = [namespaces[j], namespaces[i]];
    }
    for (const [rank, ns] of namespaces.entries()) {
      const pods = Math.max(1, Math.floor(105_000 / (rank + 1) ** 1.05));
      const deployments = Array.from(
        { length: 1 + Math.min(20, Math.floor(pods / 50)) },
        () => `${word(rand, 3, 10)}-${kubeSuffix(rand, 10)}`,
      );
      yield `/registry/namespaces/${ns}`;
      for (let p = 0; p < pods; p++) {
        const pod = `${deployments[p % deployments.length]}-${kubeSuffix(rand, 5)}`;
        yield `/registry/pods/${ns}/${pod}`;
        if (p % 5 < 3) yield `/registry/events/${ns}/${pod}.${hex(rand, 16)}`;
      }
      for (let i = 0; i < 3 + (rank % 7); i++) {
        yield `/registry/configmaps/${ns}/${word(rand, 4, 12)}-config`;
        yield `/registry/secrets/${ns}/${word(rand, 4, 10)}-token-${kubeSuffix(rand, 5)}`;
      }
    }
  },
};

export const SHAPES: readonly Shape[] = [
  today,
  registry,
  discovery,
  uuids,
  chains,
  sequences,
  flat,
  uneven,
  suffixes,
  grown,
];
