import * as vscode from 'vscode';
import { displayKey, keyFromId, keyId } from '../etcd/keyCodec';

/** Editable values: `etcd://<profile>/<display path>?k=<key bytes, base64url>`. */
export const VALUE_SCHEME = 'etcd';
/** Read-only snapshots: a value at a revision, or a hex dump of a binary value. */
export const SNAPSHOT_SCHEME = 'etcd-snapshot';
/** Read-only decoded Kubernetes objects (YAML or JSON), titled kind/namespace/name. */
export const KUBERNETES_SCHEME = 'etcd-k8s';

export interface ValueAddress {
  readonly profileId: string;
  /** The exact key bytes (relative to the connection's namespace). */
  readonly key: Buffer;
  /** For snapshots: the revision read ("latest" when absent). */
  readonly revision?: string;
  /** For snapshots: render as a hex dump. */
  readonly hex?: boolean;
  /** For Kubernetes documents: the rendering and the title ("Pod/shop/web"). */
  readonly kubernetes?: { readonly view: 'yaml' | 'json'; readonly title: string };
}

/**
 * The URI carries the exact key bytes in its query; the path is only for display (tab title, language by
 * extension), so any key — binary, "?"/"#", very long — round-trips.
 */
export function valueUri(address: ValueAddress, scheme = VALUE_SCHEME): vscode.Uri {
  const shown = displayKey(address.key).replace(/[?#%]/g, '_').slice(-200) || '(empty key)';
  const query = new URLSearchParams({ k: keyId(address.key) });
  if (address.revision) query.set('rev', address.revision);
  if (address.hex) query.set('hex', '1');
  if (address.kubernetes) {
    query.set('view', address.kubernetes.view);
    // One path segment, so the tab shows the whole title; U+2215 looks like "/" without being a separator.
    const title = address.kubernetes.title.replace(/[/\\]/g, '\u2215').replace(/[?#%]/g, '_');
    return vscode.Uri.from({
      scheme,
      authority: address.profileId,
      path: `/${title}.${address.kubernetes.view}`,
      query: query.toString(),
    });
  }
  return vscode.Uri.from({
    scheme,
    authority: address.profileId,
    path: `/${shown.replace(/^\/+/, '')}${address.revision ? `@${address.revision}` : ''}${address.hex ? '.hex' : ''}`,
    query: query.toString(),
  });
}

export function parseValueUri(uri: vscode.Uri): ValueAddress {
  const query = new URLSearchParams(uri.query);
  const id = query.get('k');
  if (id === null) throw vscode.FileSystemError.FileNotFound(uri);
  const view = query.get('view');
  return {
    profileId: uri.authority,
    key: keyFromId(id),
    revision: query.get('rev') ?? undefined,
    hex: query.get('hex') === '1',
    kubernetes:
      view === 'yaml' || view === 'json' ? { view, title: uri.path.slice(1).replace(/\.(yaml|json)$/, '') } : undefined,
  };
}
