import { EtcdConnection } from '../../src/etcd/connection';
import { ResilientWatch, WatchEvent } from '../../src/etcd/watch';
import { until } from '../rig/wait';

/** An event as one comparable line: revision, type, key and value. */
export const eventSignature = (e: WatchEvent): string =>
  `${e.modRevision}|${e.type}|${e.key.toString()}|${e.value.toString()}`;

/** The server's own history of a prefix between two revisions, read by a plain replay on a healthy cluster. */
export async function serverHistory(conn: EtcdConnection, prefix: string, from: string, to: bigint): Promise<string[]> {
  const replay = new ResilientWatch(conn, {
    key: Buffer.from(prefix),
    prefix: true,
    startRevision: from,
    progressIntervalMs: 0,
  });
  const seen: WatchEvent[] = [];
  replay.onEvents((events) => seen.push(...events));
  replay.start();
  await until(() => seen.length > 0 && BigInt(seen[seen.length - 1].modRevision) >= to, 30_000, 'replay');
  replay.stop();
  return seen.map(eventSignature);
}
