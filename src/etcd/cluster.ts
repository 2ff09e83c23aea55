import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { EtcdConnection } from './connection';
import { EtcdExplorerError, cancelledError, errorText } from './errors';

/** A cluster member as MemberList reports it. Ids stay decimal strings (64-bit); etcdctl shows hex. */
export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: string[];
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

/** Status of one member, asked through a client that talks to that member only. */
export type MemberStatus =
  | {
      readonly ok: true;
      readonly endpoint: string;
      readonly memberId: string;
      readonly version: string;
      readonly dbSize: number;
      readonly dbSizeInUse: number;
      readonly leader: string;
      readonly raftTerm: string;
      readonly raftIndex: string;
      readonly raftAppliedIndex: string;
      readonly errors: string[];
      readonly isLearner: boolean;
    }
  | { readonly ok: false; readonly endpoint: string; readonly error: string };

export interface AlarmInfo {
  readonly memberId: string;
  /** "NOSPACE" or "CORRUPT". */
  readonly alarm: string;
}

export function memberHex(id: string): string {
  return BigInt(id).toString(16);
}

export async function listMembers(conn: EtcdConnection, signal?: AbortSignal): Promise<MemberInfo[]> {
  const res = await conn.call('list members', (c) => c.cluster.memberList({ linearizable: false }), signal);
  return res.members.map((m) => ({
    id: m.ID,
    name: m.name,
    peerUrls: m.peerURLs,
    clientUrls: m.clientURLs,
    isLearner: (m as { isLearner?: boolean }).isLearner === true,
  }));
}

/**
 * One client per member endpoint, built from the connection's profile (same TLS, credentials, deadline), so
 * Status and HashKV reach the member they are about — etcd3's status() goes to a random host. Reused across
 * calls; `dispose()` closes them.
 */
export class MemberClients {
  private readonly clients = new Map<string, EtcdConnection>();

  constructor(private readonly base: EtcdConnection) {}

  for(endpoint: string): EtcdConnection {
    let client = this.clients.get(endpoint);
    if (!client) {
      client = this.base.forEndpoint(endpoint);
      this.clients.set(endpoint, client);
    }
    return client;
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}

/**
 * The URL that reaches each member, by member id. Members advertise their client URLs, but from a laptop they
 * are often reachable only through the profile's endpoints (kubectl port-forward, NAT, a load balancer). Each
 * profile endpoint that no member advertises is asked for Status, and the member that answers there is reached
 * through it; every other member keeps its first advertised URL. When the profile lists only advertised URLs
 * this costs nothing.
 */
export async function memberEndpoints(
  clients: MemberClients,
  profileEndpoints: readonly string[],
  members: readonly MemberInfo[],
): Promise<Map<string, string>> {
  const advertised = new Set(members.flatMap((m) => m.clientUrls));
  const extra = profileEndpoints.filter((e) => !advertised.has(e));
  const answers = await memberStatuses(clients, extra);
  const result = new Map<string, string>();
  for (const a of answers) if (a.ok && !result.has(a.memberId)) result.set(a.memberId, a.endpoint);
  for (const m of members) if (!result.has(m.id) && m.clientUrls.length) result.set(m.id, m.clientUrls[0]);
  return result;
}

/** Status of every listed endpoint, in parallel; an unreachable member is a result, not an exception. */
export async function memberStatuses(clients: MemberClients, endpoints: readonly string[]): Promise<MemberStatus[]> {
  return Promise.all(
    endpoints.map(async (endpoint): Promise<MemberStatus> => {
      try {
        const s = await clients.for(endpoint).call(`read the status of ${endpoint}`, (c) => c.maintenance.status());
        return {
          ok: true,
          endpoint,
          memberId: s.header.member_id,
          version: s.version,
          dbSize: Number(s.dbSize),
          dbSizeInUse: Number(s.dbSizeInUse),
          leader: s.leader,
          raftTerm: s.raftTerm,
          raftIndex: s.raftIndex,
          raftAppliedIndex: s.raftAppliedIndex,
          errors: s.errors,
          isLearner: s.isLearner,
        };
      } catch (err) {
        return { ok: false, endpoint, error: errorText(err) };
      }
    }),
  );
}

export async function listAlarms(conn: EtcdConnection): Promise<AlarmInfo[]> {
  const res = await conn.call('list alarms', (c) =>
    c.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' }),
  );
  return res.alarms.map((a) => ({ memberId: a.memberID, alarm: String(a.alarm) }));
}

/** Deactivates every active alarm (after space was freed: compact, defragment). */
export async function disarmAlarms(conn: EtcdConnection): Promise<number> {
  const active = await listAlarms(conn);
  for (const a of active) {
    await conn.write('disarm an alarm', (c) =>
      c.maintenance.alarm({ action: 'Deactivate', memberID: a.memberId, alarm: a.alarm as 'Nospace' }),
    );
  }
  return active.length;
}

/**
 * HashKV of one member at `revision` (0: latest). etcd3's maintenance.hashKV is broken (grpc-js names the
 * method hashKv), so this calls the Maintenance service directly.
 */
export async function hashKv(
  member: EtcdConnection,
  revision = '0',
): Promise<{ hash: string; compactRevision: string; revision: string }> {
  const res = (await member.call('compute HashKV', (c) =>
    (c.maintenance as unknown as { client: { exec(s: string, m: string, p: unknown): Promise<unknown> } }).client.exec(
      'Maintenance',
      'HashKV',
      { revision },
    ),
  )) as { hash: number | string; compact_revision: string; header: { revision: string } };
  return { hash: String(res.hash), compactRevision: res.compact_revision, revision: res.header.revision };
}

/** Compacts history up to `revision` (physical: wait until the space can be reclaimed). */
export async function compact(conn: EtcdConnection, revision: string, physical: boolean): Promise<void> {
  if (!/^\d+$/.test(revision) || revision === '0')
    throw new EtcdExplorerError('invalid', `"${revision}" is not a revision to compact to.`);
  await conn.write(`compact to revision ${revision}`, (c) => c.kv.compact({ revision, physical }));
}

/** Defragments one member (it blocks that member while it runs). */
export async function defragment(member: EtcdConnection): Promise<void> {
  await member.write('defragment', (c) => c.maintenance.defragment());
}

/**
 * Streams a snapshot of one member's backend into `file` (written to a temporary name first, so a cancelled or
 * failed snapshot never leaves a truncated file under the real name). Reports bytes written and remaining.
 */
export async function saveSnapshot(
  member: EtcdConnection,
  file: string,
  options: { signal?: AbortSignal; onProgress?: (written: number, remaining: number) => void } = {},
): Promise<number> {
  const partial = `${file}.part`;
  const out = createWriteStream(partial);
  let written = 0;
  try {
    await member.call(
      'save a snapshot',
      async (c) => {
        const stream = (await c.maintenance.snapshot()) as unknown as NodeJS.ReadableStream & { cancel?: () => void };
        await new Promise<void>((resolve, reject) => {
          const abort = () => {
            stream.cancel?.();
            reject(cancelledError());
          };
          options.signal?.addEventListener('abort', abort, { once: true });
          stream.on('data', (chunk: { blob: Buffer; remaining_bytes: string }) => {
            out.write(chunk.blob);
            written += chunk.blob.length;
            options.onProgress?.(written, Number(chunk.remaining_bytes));
          });
          stream.on('error', reject);
          stream.on('end', () => resolve());
        });
      },
      options.signal,
    );
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    await rename(partial, file);
    return written;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
