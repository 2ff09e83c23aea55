import * as vscode from 'vscode';
import { displayKey } from '../etcd/keyCodec';
import { storageFormat } from '../etcd/kubernetes/overview';
import { parseRegistryKey } from '../etcd/kubernetes/registry';
import type { StoredAs } from '../etcd/kubernetes/storedAs';

/**
 * Tree labels under the Kubernetes registry prefix, from the key alone (no value is read): a resource folder
 * says which kind it holds, a namespace folder that it is one, an object its kind and namespace — and, when the
 * listing read how it is stored, that it is encrypted at rest (lock icon, provider and key name).
 */
export function decorateKubernetesItem(
  item: vscode.TreeItem,
  key: Buffer,
  kind: 'folder' | 'key',
  registryPrefix: string,
  stored?: StoredAs,
): void {
  if (!registryPrefix) return;
  const text = displayKey(key);
  if (kind === 'folder' && `${text}` === registryPrefix) {
    item.iconPath = new vscode.ThemeIcon('server-environment');
    item.description = ['Kubernetes registry', item.description].filter(Boolean).join(' · ');
    return;
  }
  const path = parseRegistryKey(text, registryPrefix);
  if (!path) return;
  if (kind === 'folder') {
    if (path.namespace !== undefined) {
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      item.description = [`namespace`, item.description].filter(Boolean).join(' · ');
    } else if (text.endsWith(`${path.resource}/`)) {
      item.iconPath = new vscode.ThemeIcon('symbol-class');
      const what =
        path.kind ??
        (path.resource.includes('.') && !path.resource.includes('/')
          ? 'API group'
          : path.resource.includes('/')
            ? 'custom resource'
            : undefined);
      item.description = [what, item.description].filter(Boolean).join(' · ') || undefined;
    }
    return;
  }
  const encrypted = stored?.format === 'encrypted';
  item.iconPath = new vscode.ThemeIcon(encrypted ? 'lock' : 'symbol-object');
  const marks = [path.kind, path.namespace, encrypted ? `encrypted (${stored.provider})` : undefined];
  item.description = marks.filter(Boolean).join(' · ') || item.description;
}

/** The tooltip line for an object whose value was read for the tooltip: how it is stored. */
export function kubernetesStorageNote(value: Uint8Array): string {
  const { format, provider } = storageFormat(value);
  const size = value.length < 1024 ? `${value.length} B` : `${(value.length / 1024).toFixed(1)} KiB`;
  if (format === 'encrypted') return `$(lock) encrypted at rest (${provider}) · ${size}`;
  return `stored as ${format} · ${size}`;
}
