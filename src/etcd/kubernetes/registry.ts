/**
 * What a key under the API server's registry prefix (`/registry/` by default, `/kubernetes.io/` on OpenShift)
 * names, read from the key alone: `<prefix>[<group>/]<resource>/[<namespace>/]<name>`.
 */

/** Resource directory → kind, for the built-in resources (their directory names are not always the plural). */
const BUILT_IN_KINDS: Record<string, string> = {
  pods: 'Pod',
  minions: 'Node',
  'services/specs': 'Service',
  'services/endpoints': 'Endpoints',
  configmaps: 'ConfigMap',
  secrets: 'Secret',
  namespaces: 'Namespace',
  serviceaccounts: 'ServiceAccount',
  events: 'Event',
  deployments: 'Deployment',
  replicasets: 'ReplicaSet',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  controllerrevisions: 'ControllerRevision',
  controllers: 'ReplicationController',
  jobs: 'Job',
  cronjobs: 'CronJob',
  leases: 'Lease',
  endpointslices: 'EndpointSlice',
  ingress: 'Ingress',
  ingressclasses: 'IngressClass',
  networkpolicies: 'NetworkPolicy',
  ipaddresses: 'IPAddress',
  servicecidrs: 'ServiceCIDR',
  persistentvolumes: 'PersistentVolume',
  persistentvolumeclaims: 'PersistentVolumeClaim',
  storageclasses: 'StorageClass',
  volumeattributesclasses: 'VolumeAttributesClass',
  csidrivers: 'CSIDriver',
  csinodes: 'CSINode',
  csistoragecapacities: 'CSIStorageCapacity',
  volumeattachments: 'VolumeAttachment',
  clusterroles: 'ClusterRole',
  clusterrolebindings: 'ClusterRoleBinding',
  roles: 'Role',
  rolebindings: 'RoleBinding',
  priorityclasses: 'PriorityClass',
  poddisruptionbudgets: 'PodDisruptionBudget',
  podsecuritypolicy: 'PodSecurityPolicy',
  horizontalpodautoscalers: 'HorizontalPodAutoscaler',
  limitranges: 'LimitRange',
  resourcequotas: 'ResourceQuota',
  podtemplates: 'PodTemplate',
  mutatingwebhookconfigurations: 'MutatingWebhookConfiguration',
  validatingwebhookconfigurations: 'ValidatingWebhookConfiguration',
  validatingadmissionpolicies: 'ValidatingAdmissionPolicy',
  validatingadmissionpolicybindings: 'ValidatingAdmissionPolicyBinding',
  mutatingadmissionpolicies: 'MutatingAdmissionPolicy',
  mutatingadmissionpolicybindings: 'MutatingAdmissionPolicyBinding',
  flowschemas: 'FlowSchema',
  prioritylevelconfigurations: 'PriorityLevelConfiguration',
  certificatesigningrequests: 'CertificateSigningRequest',
  clustertrustbundles: 'ClusterTrustBundle',
  runtimeclasses: 'RuntimeClass',
  storageversions: 'StorageVersion',
  storageversionmigrations: 'StorageVersionMigration',
  resourceclaims: 'ResourceClaim',
  resourceclaimtemplates: 'ResourceClaimTemplate',
  resourceslices: 'ResourceSlice',
  deviceclasses: 'DeviceClass',
  devicetaintrules: 'DeviceTaintRule',
  'ranges/serviceips': 'RangeAllocation',
  'ranges/servicenodeports': 'RangeAllocation',
  masterleases: 'Endpoints',
  'apiextensions.k8s.io/customresourcedefinitions': 'CustomResourceDefinition',
  'apiregistration.k8s.io/apiservices': 'APIService',
};

/** Resources kube-apiserver stores under two directory levels (`services/specs/<ns>/<name>`). */
const TWO_LEVEL = new Set(['services', 'ranges']);

export interface RegistryPath {
  /** Resource directory, with its API group when the key has one: "pods", "apiregistration.k8s.io/apiservices". */
  resource: string;
  /** The kind for built-in resources; undefined for custom resources (their kind is in the value). */
  kind?: string;
  namespace?: string;
  name?: string;
}

function isGroup(segment: string): boolean {
  return segment.includes('.');
}

/**
 * Reads `<prefix><resource>/<namespace>/<name>` (or `.../<name>` for cluster-scoped resources). Returns
 * undefined outside the prefix. A key with only a resource (a folder) has no name.
 * Whether the object is namespaced cannot be told from a two-segment key alone (`pods/shop/web` vs
 * `clusterroles/admin`); `namespaced` answers it when the caller knows (e.g. the folder has sub-folders).
 */
export function parseRegistryKey(key: string, prefix: string): RegistryPath | undefined {
  if (!prefix || !key.startsWith(prefix)) return undefined;
  const segments = key.slice(prefix.length).split('/');
  if (segments.length === 0 || !segments[0]) return undefined;
  let take = 1;
  if (isGroup(segments[0]) || TWO_LEVEL.has(segments[0])) take = segments.length > 1 && segments[1] ? 2 : 1;
  const resource = segments.slice(0, take).join('/');
  const rest = segments.slice(take);
  const path: RegistryPath = { resource, kind: BUILT_IN_KINDS[resource] };
  if (rest.length >= 2 && rest[rest.length - 1] !== '') {
    path.namespace = rest.slice(0, -1).join('/');
    path.name = rest[rest.length - 1];
  } else if (rest.length === 1 && rest[0] !== '') {
    path.name = rest[0];
  } else if (rest.length === 2 && rest[1] === '') {
    // "<resource>/<namespace>/": a namespace folder
    path.namespace = rest[0];
  }
  return path;
}

/** The kind a built-in resource directory holds ("pods" → "Pod"), if known. */
export function registryKind(resource: string): string | undefined {
  return BUILT_IN_KINDS[resource];
}
