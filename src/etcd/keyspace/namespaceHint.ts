import { Bound, Span, endOf, lessThan } from './partition';
import { RangeReader } from './rangeReader';

/**
 * Kubernetes' API server keeps every namespace as one key, `<registry>/namespaces/<name>`, and a namespaced
 * resource's folder — `<registry>/pods/`, `<registry>/services/specs/`, `<registry>/example.com/widgets/` — holds
 * one child folder per namespace with such objects. Those folders are a cluster's largest (pods, events,
 * secrets, replicasets), and the namespaces' sizes are skewed: a listing that has to find where names diverge
 * visits the giants again along shared prefixes (`team-`, `tenant-0…`). With the namespaces known, the folder's
 * partition is known: one range per namespace folder (its answer shows the child and counts it whole) and one
 * for each gap between them (empty unless the folder holds children that are not namespaces), every key visited
 * once.
 */

/**
 * Where a folder's namespaces may be listed: `namespaces/` (or another folder of `resource`s kept by namespace) beside
 * it, or beside its parent (a group or `services/`).
 */
export function namespaceSources(
  absPrefix: Buffer,
  separator: string,
  root: Buffer,
  resource = 'namespaces',
): Buffer[] {
  if (separator !== '/' || absPrefix.length < 2 || absPrefix[absPrefix.length - 1] !== 0x2f) return [];
  const out: Buffer[] = [];
  let folder = absPrefix;
  for (let level = 0; level < 2 && folder.length >= 2; level++) {
    const cut = folder.lastIndexOf(0x2f, folder.length - 2);
    if (cut < 0) break;
    folder = folder.subarray(0, cut + 1);
    // Never above the connection's namespace: its keys may be out of reach (and are not this folder's business).
    if (folder.length < root.length) break;
    const source = Buffer.concat([folder, Buffer.from(`${resource}/`)]);
    // The namespaces folder itself, and folders under it, are not partitioned by it.
    if (!absPrefix.subarray(0, source.length).equals(source)) out.push(source);
  }
  return out;
}

/** True under a folder named as kube-apiserver's registry prefixes are by default (`registry/`, `kubernetes.io/`). */
export function underRegistry(absPrefix: Buffer): boolean {
  return /(^|\/)(registry|kubernetes\.io)\//.test(absPrefix.toString('latin1'));
}

/** A Kubernetes namespace name: an RFC 1123 label (small letters, digits and `-`, alphanumeric at both ends, ≤ 63). */
export function isNamespaceName(name: Buffer): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name.toString('latin1'));
}

/**
 * The namespaces listed under the first of `sources` that has any, from the name `after` on, in at most `limit` keys
 * (one round trip, keys only; those after the last one fall in the partition's last gap). Undefined when none has any, or
 * when they cannot be read (permission denied: the listing goes on without them).
 */
export async function readNamespaces(
  reader: RangeReader,
  sources: readonly Buffer[],
  after: Buffer,
  limit: number,
): Promise<Buffer[] | undefined> {
  if (!sources.length) return undefined;
  let answers;
  try {
    answers = await reader.batch(
      sources.map((s) => ({ from: Buffer.concat([s, after]), to: endOf(s), request: { limit } })),
      false,
    );
  } catch (err) {
    if (reader.signal?.aborted) throw err;
    return undefined;
  }
  for (const [i, answer] of answers.entries()) {
    if (!answer.kvs.length) continue;
    // A namespace is a key there (`namespaces/<name>`, as kube-apiserver keeps it) or a folder of keys
    // (`namespaces/<name>/…`, as some stores and generators lay them out): its name is what comes before any `/`.
    const names = new Map<string, Buffer>();
    for (const kv of answer.kvs) {
      const rest = kv.key.subarray(sources[i].length);
      const cut = rest.indexOf(0x2f);
      const name = cut < 0 ? rest : rest.subarray(0, cut);
      if (name.length) names.set(name.toString('latin1'), name);
    }
    return [...names.values()];
  }
  return undefined;
}

/** A range of a folder's partition by namespaces: `namespace` when it is exactly one namespace's folder. */
export interface HintSpan extends Span {
  readonly namespace: boolean;
}

/**
 * [from, end) cut into one range per namespace folder at or after `from` and the gaps between them (a gap before
 * the first, between two, and after the last: only non-empty ones).
 */
export function namespacePartition(absPrefix: Buffer, names: readonly Buffer[], from: Buffer, end: Bound): HintSpan[] {
  // Folder keys sort differently from the names ("team-a/" before "team/"): sorted as folders.
  const folders = names.map((n) => Buffer.concat([absPrefix, n, Buffer.from('/')])).sort(Buffer.compare);
  const out: HintSpan[] = [];
  let cursor = from;
  for (const folder of folders) {
    const after = endOf(folder) as Buffer;
    // (A folder that `from` or `end` cuts is left to the gaps.)
    if (Buffer.compare(folder, cursor) < 0 || !(end === null || Buffer.compare(after, end) <= 0)) continue;
    if (Buffer.compare(cursor, folder) < 0) out.push({ lo: cursor, hi: folder, namespace: false });
    out.push({ lo: folder, hi: after, namespace: true });
    cursor = after;
  }
  if (lessThan(cursor, end)) out.push({ lo: cursor, hi: end, namespace: false });
  return out;
}
