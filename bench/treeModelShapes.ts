/**
 * Keyspaces for `npm run model:tree` only, never in the bench: a listing tuned on the bench shapes is checked on
 * these (a production-like API server dump, tenants by UUID, time series, base64 and binary names, emails,
 * unpadded numbers, extreme skew, home directories, team namespaces, Zipf namespaces of random letters and words,
 * the API server dump again without its namespaces).
 */
import {
  hostSeries,
  letterNamespaces,
  namespaceNames,
  randomLetters,
  seededRandom,
  zipfSizes,
} from '../test/rig/random';
import { Shape, chars, hex, kubeSuffix, pad } from './treeShapes';

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const SYL = [
  'ka',
  'lo',
  'mi',
  'ra',
  'te',
  'so',
  'ne',
  'vi',
  'du',
  'pa',
  'ger',
  'tan',
  'bel',
  'cor',
  'fin',
  'ist',
  'on',
  'ex',
];
function name(rand: () => number, min = 2, max = 4): string {
  let s = '';
  for (let i = 0, n = min + Math.floor(rand() * (max - min + 1)); i < n; i++) s += pick(rand, SYL);
  return s;
}

/**
 * A production-like API server: real resource names, real naming schemes, skewed namespaces. Without its
 * `/registry/namespaces/` keys (x11) the listing cannot cut the namespaced folders by them and explores them.
 */
const kube = (namespaceKeys: boolean): Shape => ({
  name: namespaceKeys ? 'held-out: kube cluster dump' : 'held-out: kube cluster dump without its namespaces',
  levels: ['/registry/', '/registry/pods/', '/registry/events/', '/registry/secrets/', '/registry/replicasets/'],
  *keys() {
    const rand = seededRandom(101);
    const ns = new Set<string>([
      'default',
      'kube-system',
      'kube-public',
      'kube-node-lease',
      'cert-manager',
      'argocd',
      'monitoring',
      'istio-system',
      'ingress-nginx',
      'external-dns',
      'velero',
      'logging',
      'flux-system',
      'gatekeeper-system',
    ]);
    while (ns.size < 420) {
      const r = rand();
      if (r < 0.3) ns.add(`${name(rand)}-${pick(rand, ['prod', 'staging', 'dev', 'qa'])}`);
      else if (r < 0.45) ns.add(`ci-${hex(rand, 8)}`);
      else if (r < 0.6) ns.add(`user-${name(rand, 1, 3)}`);
      else if (r < 0.7) ns.add(`tenant-${pad(Math.floor(rand() * 100000), 5)}`);
      else ns.add(`${name(rand)}-${name(rand, 1, 2)}-${name(rand, 1, 2)}`);
    }
    const all = [...ns];
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j], all[i]];
    }
    const resources = [
      'apiextensions.k8s.io/customresourcedefinitions',
      'apiregistration.k8s.io/apiservices',
      'clusterrolebindings',
      'clusterroles',
      'controllerrevisions',
      'csidrivers',
      'csinodes',
      'cronjobs',
      'daemonsets',
      'flowschemas',
      'horizontalpodautoscalers',
      'ingress',
      'jobs',
      'limitranges',
      'masterleases',
      'minions',
      'networkpolicies',
      'poddisruptionbudgets',
      'podtemplates',
      'priorityclasses',
      'prioritylevelconfigurations',
      'ranges',
      'resourcequotas',
      'rolebindings',
      'roles',
      'runtimeclasses',
      'storageclasses',
      'validatingwebhookconfigurations',
      'mutatingwebhookconfigurations',
      'volumeattachments',
    ];
    for (const r of resources)
      for (let i = 0; i < 20 + Math.floor(rand() * 200); i++) yield `/registry/${r}/${name(rand)}-${i}`;
    for (let n = 0; n < 1500; n++) {
      const node = `gke-prod-${pick(rand, ['pool-a', 'pool-b', 'highmem'])}-${hex(rand, 8)}-${kubeSuffix(rand, 4)}`;
      yield `/registry/minions/${node}`;
      yield `/registry/leases/kube-node-lease/${node}`;
    }
    for (const [rank, n] of all.entries()) {
      if (namespaceKeys) yield `/registry/namespaces/${n}`;
      yield `/registry/configmaps/${n}/kube-root-ca.crt`;
      yield `/registry/serviceaccounts/${n}/default`;
      const size = Math.max(2, Math.floor(60000 / (rank + 1) ** 0.95));
      const deploys = Array.from(
        { length: 1 + Math.min(40, Math.floor(size / 30)) },
        () => name(rand, 1, 3) + (rand() < 0.5 ? '-' + name(rand, 1, 2) : ''),
      );
      for (const d of deploys) {
        const revs = 1 + Math.floor(rand() * 8);
        let rs = '';
        for (let v = 0; v < revs; v++) {
          rs = `${d}-${kubeSuffix(rand, 10)}`;
          yield `/registry/replicasets/${n}/${rs}`;
        }
        yield `/registry/deployments/${n}/${d}`;
        yield `/registry/services/specs/${n}/${d}`;
        yield `/registry/services/endpoints/${n}/${d}`;
        yield `/registry/endpointslices/${n}/${d}-${kubeSuffix(rand, 5)}`;
        yield `/registry/secrets/${n}/sh.helm.release.v1.${d}.v${revs}`;
        for (let v = 1; v < revs; v++) yield `/registry/secrets/${n}/sh.helm.release.v1.${d}.v${v}`;
        const pods = Math.max(1, Math.floor(size / deploys.length));
        for (let p = 0; p < pods; p++) {
          const pod = rand() < 0.15 ? `${d}-${p}` : `${rs}-${kubeSuffix(rand, 5)}`;
          yield `/registry/pods/${n}/${pod}`;
          if (rand() < 0.7) yield `/registry/events/${n}/${pod}.${hex(rand, 16)}`;
          if (rand() < 0.3) yield `/registry/events/${n}/${pod}.${hex(rand, 16)}`;
        }
      }
      for (let s = 0; s < 2 + (rank % 5); s++)
        yield `/registry/secrets/${n}/${name(rand)}-token-${kubeSuffix(rand, 5)}`;
    }
  },
});

/** Config store: tenants by UUID, environments, services, settings. */
const config: Shape = {
  name: 'held-out: tenant config by uuid',
  levels: ['/config/', '/config/tenants/'],
  *keys() {
    const rand = seededRandom(102);
    for (let t = 0; t < 40000; t++) {
      const id = `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`;
      const n = rand() < 0.01 ? 400 : 4 + Math.floor(rand() * 20);
      for (let k = 0; k < n; k++) yield `/config/tenants/${id}/${pick(rand, ['prod', 'dev'])}/${name(rand, 1, 2)}.${k}`;
    }
    for (let k = 0; k < 2000; k++) yield `/config/global/${name(rand)}`;
  },
};

/** Time series: hosts by FQDN, keys by epoch millis. */
const ts: Shape = {
  name: 'held-out: time series by host',
  levels: ['/ts/'],
  *keys() {
    yield* hostSeries('/ts/', seededRandom(103));
  },
};

/** One-key children with random base64url names, and folders named by 4 random bytes. */
const blobs: Shape = {
  name: 'held-out: base64 names and binary folders',
  levels: ['/blobs/', '/bin/'],
  *keys() {
    const rand = seededRandom(104);
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 300000; i++) yield `/blobs/${chars(rand, 22, b64)}`;
    for (let i = 0; i < 30000; i++) {
      let id = '';
      for (let j = 0; j < 4; j++) id += String.fromCharCode(Math.floor(rand() * 256));
      if (id.includes('/') || id.includes('\n') || id.includes('\0')) continue;
      for (let k = 0; k < 10; k++) yield `/bin/${id}/${k}`;
    }
  },
};

/** Users by email. */
const users: Shape = {
  name: 'held-out: users by email',
  levels: ['/users/'],
  *keys() {
    const rand = seededRandom(105);
    const domains = ['gmail.com', 'example.org', 'corp.example.com', 'outlook.com', 'yahoo.co.uk'];
    for (let u = 0; u < 60000; u++) {
      const email = `${name(rand, 1, 3)}.${name(rand, 1, 3)}${rand() < 0.3 ? Math.floor(rand() * 100) : ''}@${pick(rand, domains)}`;
      for (const f of ['profile', 'settings', 'sessions/a', 'sessions/b', 'quota']) yield `/users/${email}/${f}`;
    }
  },
};

/** Orders numbered without padding (1, 10, 100 …), keys that are also folders. */
const orders: Shape = {
  name: 'held-out: unpadded numbers, keys that are folders',
  levels: ['/orders/'],
  *keys() {
    for (let n = 1; n <= 120000; n++) {
      yield `/orders/${n}`;
      for (let m = 0; m < 1 + (n % 7); m++) yield `/orders/${n}/items/${m}`;
    }
  },
};

/** One namespace holds 90% of the keys, hundreds of tiny ones around it; names with dots. */
const skew: Shape = {
  name: 'held-out: extreme skew, dotted names',
  levels: ['/registry/leases/'],
  *keys() {
    const rand = seededRandom(107);
    for (let i = 0; i < 900; i++) {
      const n = `app.${name(rand)}.${pick(rand, ['svc', 'internal', 'io'])}`;
      for (let k = 0; k < 1 + Math.floor(rand() * 60); k++) yield `/registry/leases/${n}/${name(rand)}-${k}`;
    }
    for (let k = 0; k < 400000; k++) yield `/registry/leases/app.main.svc/holder-${hex(rand, 12)}`;
  },
};

/** Path-like home directories: users, nested dirs. */
const fs: Shape = {
  name: 'held-out: home directories',
  levels: ['/fs/home/'],
  *keys() {
    const rand = seededRandom(108);
    for (let u = 0; u < 3000; u++) {
      const user = `${name(rand, 1, 2)}${rand() < 0.5 ? pad(Math.floor(rand() * 1000), 3) : ''}`;
      const files = Math.floor(1 + 20000 / (1 + u) + rand() * 100);
      for (let f = 0; f < files; f++)
        yield `/fs/home/${user}/${pick(rand, ['src', 'doc', '.cache', 'tmp'])}/${name(rand)}.${pick(rand, ['ts', 'md', 'bin'])}`;
    }
  },
};

/**
 * Namespaces as teams name them — syllable words, `<word>-<env>`, `tenant-<number>`, `user-<word>` — of Zipf-like
 * sizes, at two scales (events-like keys under each).
 */
const teams: Shape = {
  name: 'held-out: team namespaces of Zipf sizes',
  levels: ['/teams/', '/small/'],
  *keys() {
    for (const [root, total, seed] of [
      ['/teams/', 700_000, 109],
      ['/small/', 300_000, 110],
    ] as const) {
      const rand = seededRandom(seed);
      const names = new Set<string>();
      while (names.size < 400) {
        const r = rand();
        names.add(
          r < 0.4
            ? `${name(rand, 2, 3)}-${pick(rand, ['prod', 'staging', 'dev'])}`
            : r < 0.55
              ? `tenant-${pad(Math.floor(rand() * 100_000), 5)}`
              : r < 0.7
                ? `user-${name(rand, 1, 2)}`
                : name(rand, 2, 4),
        );
      }
      const sizes = zipfSizes(names.size, total);
      for (const [rank, n] of [...names].entries())
        for (let i = 0; i < sizes[rank]; i++) yield `${root}${n}/${chars(rand, 8, 'abcdefghijklmnopqrstuvwxyz')}`;
    }
  },
};

/**
 * Namespaces of Zipf sizes (rank r holds ~1/r of the keys) with names of random letters (a quarter `preview-<hex>`,
 * a tenth `pr-<n>`) and of random words (`<word>-<word>` pairs), the letters at two scales: the same names with
 * their sizes doubled once cost 4.86 keys visited per key against 2.89 (see listChildren's `following`).
 */
const zipf: Shape = {
  name: 'held-out: Zipf namespaces of random letters and words',
  levels: ['/letters/', '/words/', '/letters3/'],
  *keys() {
    for (const [root, total, seed, words] of [
      ['/letters/', 150_000, 3, false],
      ['/words/', 300_000, 4, true],
      ['/letters3/', 300_000, 3, false],
    ] as const) {
      const rand = seededRandom(seed);
      const names = words ? namespaceNames(rand, 500, 0.4, 0.4, 0.4) : letterNamespaces(rand, 500);
      const sizes = zipfSizes(names.length, total);
      const keys = seededRandom(9);
      for (const [rank, n] of names.entries())
        for (let i = 0; i < sizes[rank]; i++) yield `${root}${n}/${randomLetters(keys, 8)}`;
    }
  },
};

export const EXTRA_SHAPES: readonly Shape[] = [
  kube(true),
  config,
  ts,
  blobs,
  users,
  orders,
  skew,
  fs,
  teams,
  zipf,
  kube(false),
];
